package androidx.camera.core;
public final class ImageAnalysis extends UseCase {
    public static final int STRATEGY_KEEP_ONLY_LATEST = 0;
    public static final int STRATEGY_BLOCK_PRODUCER = 1;
    public static final int OUTPUT_IMAGE_FORMAT_YUV_420_888 = 1;
    public interface Analyzer { void analyze(@androidx.annotation.NonNull ImageProxy image); }
    public void setAnalyzer(@androidx.annotation.NonNull java.util.concurrent.Executor executor, @androidx.annotation.NonNull Analyzer analyzer) {}
    public void clearAnalyzer() {}
    public static final class Builder {
        @androidx.annotation.NonNull public Builder setBackpressureStrategy(int strategy) { return this; }
        @androidx.annotation.NonNull public Builder setOutputImageFormat(int outputImageFormat) { return this; }
        @androidx.annotation.NonNull public Builder setResolutionSelector(@androidx.annotation.NonNull androidx.camera.core.resolutionselector.ResolutionSelector selector) { return this; }
        @androidx.annotation.NonNull public ImageAnalysis build() { throw new RuntimeException(); }
    }
}

package org.edgeseg.core;

/**
 * How a frame becomes the model input (metadata {@code input} + {@code preprocessing}).
 * Values are only ever read from the model's metadata; see {@link ModelMetadata}.
 */
public final class PreprocessingSpec {
    private final int height;
    private final int width;
    private final String normalize;
    private final double lowPercentile;
    private final double highPercentile;
    private final boolean clahe;
    private final String denoise;

    public PreprocessingSpec(int height, int width, String normalize, double lowPercentile,
            double highPercentile, boolean clahe, String denoise) {
        this.height = height;
        this.width = width;
        this.normalize = normalize;
        this.lowPercentile = lowPercentile;
        this.highPercentile = highPercentile;
        this.clahe = clahe;
        this.denoise = denoise;
    }

    /** Model input height in pixels. */
    public int height() {
        return height;
    }

    /** Model input width in pixels. */
    public int width() {
        return width;
    }

    /** {@code none}, {@code percentile} or {@code equalize}. */
    public String normalize() {
        return normalize;
    }

    public double lowPercentile() {
        return lowPercentile;
    }

    public double highPercentile() {
        return highPercentile;
    }

    public boolean clahe() {
        return clahe;
    }

    /** {@code none}, {@code median} or {@code gaussian}. */
    public String denoise() {
        return denoise;
    }

    @Override
    public String toString() {
        return height + "x" + width + " normalize=" + normalize + " percentiles=[" + lowPercentile
                + ", " + highPercentile + "] clahe=" + clahe + " denoise=" + denoise;
    }
}

package androidx.camera.core.resolutionselector;
public final class ResolutionSelector {
    public static final class Builder {
        @androidx.annotation.NonNull public Builder setResolutionStrategy(@androidx.annotation.NonNull ResolutionStrategy strategy) { return this; }
        @androidx.annotation.NonNull public ResolutionSelector build() { throw new RuntimeException(); }
    }
}

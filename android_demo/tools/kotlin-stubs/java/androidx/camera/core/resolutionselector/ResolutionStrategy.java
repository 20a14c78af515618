package androidx.camera.core.resolutionselector;
public final class ResolutionStrategy {
    public static final int FALLBACK_RULE_CLOSEST_LOWER_THEN_HIGHER = 1;
    public ResolutionStrategy(@androidx.annotation.NonNull android.util.Size boundSize, int fallbackRule) {}
}

package org.edgeseg.core;

/**
 * Frame to uint8 model input, in the contract's order: gray -> Pillow bilinear resize ->
 * denoise -> CLAHE -> normalise. Options the Android core does not implement are refused when
 * the preprocessor is built (so the app fails at model load, with the reason), not per frame.
 */
public final class Preprocessor {
    private final PreprocessingSpec spec;

    public Preprocessor(PreprocessingSpec spec) {
        if (!"none".equals(spec.denoise())) {
            throw new UnsupportedOperationException("preprocessing.denoise='" + spec.denoise()
                    + "' is not implemented in the Android core (only 'none' is); re-export the "
                    + "model with denoise=none or run it with the Python edge runtime");
        }
        if (spec.clahe()) {
            throw new UnsupportedOperationException("preprocessing.clahe=true is not implemented "
                    + "in the Android core; re-export the model with clahe=false or run it with "
                    + "the Python edge runtime");
        }
        if ("equalize".equals(spec.normalize())) {
            throw new UnsupportedOperationException("preprocessing.normalize='equalize' is not "
                    + "implemented in the Android core (supported: percentile, none); re-export "
                    + "the model with normalize=percentile");
        }
        if (!"percentile".equals(spec.normalize()) && !"none".equals(spec.normalize())) {
            throw new UnsupportedOperationException("preprocessing.normalize='" + spec.normalize()
                    + "' is unknown (supported: percentile, none)");
        }
        this.spec = spec;
    }

    public PreprocessingSpec spec() {
        return spec;
    }

    /** Resize to the model size with Pillow bilinear (skipped when equal), then normalise. */
    public GrayImage apply(GrayImage gray) {
        GrayImage img = resize(gray);
        return normalize(img);
    }

    /** Step 2 alone: Pillow bilinear to the model size (a copy when the size already matches). */
    public GrayImage resize(GrayImage gray) {
        if (gray.width() == spec.width() && gray.height() == spec.height()) {
            return gray;
        }
        return PillowResize.bilinear(gray, spec.width(), spec.height());
    }

    /** Step 5 alone. */
    public GrayImage normalize(GrayImage img) {
        if ("percentile".equals(spec.normalize())) {
            return PercentileNormalizer.stretch(img, spec.lowPercentile(), spec.highPercentile());
        }
        return img;
    }
}

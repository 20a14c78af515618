package org.edgeseg.core;

/**
 * A frame's dequantized mask probabilities and presence score, kept so that a new threshold
 * (or other post-processing setting) re-runs only post-processing, not inference.
 */
public final class KeptOutput {
    private final double[] probs;
    private final int width;
    private final int height;
    private final int channels;
    private final Double presence;

    KeptOutput(double[] probs, int width, int height, int channels, Double presence) {
        this.probs = probs;
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.presence = presence;
    }

    /** The presence score, or null when the model has none. */
    public Double presence() {
        return presence;
    }

    /** Masks at model resolution for these post-processing settings. */
    public ClassMasks masks(PostprocessSpec post) {
        return Postprocessor.apply(probs, width, height, channels, presence, post);
    }
}

package org.edgeseg.core;

/**
 * Probabilities to masks (runtime contract, section 3; {@code edgeseg.postprocess}):
 * threshold {@code p >= threshold} per class channel, presence gate, then per channel the
 * minimum-area filter and the optional largest-component filter (8-connectivity).
 */
public final class Postprocessor {
    private Postprocessor() {}

    /**
     * @param probs HxWxC probabilities (float64), row-major
     * @param presence the presence score, or {@code null} when the model has no presence output
     */
    public static ClassMasks apply(double[] probs, int width, int height, int channels,
            Double presence, PostprocessSpec spec) {
        if (probs.length != width * height * channels) {
            throw new IllegalArgumentException("probabilities " + width + "x" + height + "x"
                    + channels + " need " + width * height * channels + " values, got "
                    + probs.length);
        }
        boolean gated = spec.presenceGate() && presence != null
                && presence < spec.presenceThreshold();
        byte[][] planes = new byte[channels][width * height];
        if (!gated) {
            for (int i = 0; i < width * height; i++) {
                for (int c = 0; c < channels; c++) {
                    planes[c][i] = (byte) (probs[i * channels + c] >= spec.threshold() ? 1 : 0);
                }
            }
        }
        for (int c = 0; c < channels; c++) {
            byte[] plane = ConnectedComponents.removeSmall(planes[c], width, height, spec.minArea());
            if (spec.largestComponent()) {
                plane = ConnectedComponents.largest(plane, width, height);
            }
            planes[c] = plane;
        }
        return ClassMasks.fromPlanes(width, height, planes);
    }
}

package org.edgeseg.core;

/** Probabilities to mask (metadata {@code postprocess}); section 3 of the runtime contract. */
public final class PostprocessSpec {
    private final double threshold;
    private final int minArea;
    private final boolean largestComponent;
    private final double presenceThreshold;
    private final boolean presenceGate;

    public PostprocessSpec(double threshold, int minArea, boolean largestComponent,
            double presenceThreshold, boolean presenceGate) {
        this.threshold = threshold;
        this.minArea = minArea;
        this.largestComponent = largestComponent;
        this.presenceThreshold = presenceThreshold;
        this.presenceGate = presenceGate;
    }

    /** A pixel is foreground when its probability is {@code >= threshold}. */
    public double threshold() {
        return threshold;
    }

    /** 8-connected components with fewer pixels (at model resolution) are removed. */
    public int minArea() {
        return minArea;
    }

    public boolean largestComponent() {
        return largestComponent;
    }

    public double presenceThreshold() {
        return presenceThreshold;
    }

    public boolean presenceGate() {
        return presenceGate;
    }

    /** The same settings with another threshold (the app's threshold slider). */
    public PostprocessSpec withThreshold(double newThreshold) {
        return new PostprocessSpec(newThreshold, minArea, largestComponent, presenceThreshold,
                presenceGate);
    }

    @Override
    public String toString() {
        return "threshold=" + threshold + " min_area=" + minArea + " largest_component="
                + largestComponent + " presence_threshold=" + presenceThreshold
                + " presence_gate=" + presenceGate;
    }
}

package org.edgeseg.core;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Everything between pixels and tensors for one model, configured only by its metadata.
 *
 * <p>The app's interpreter wrapper calls {@link #prepareInput}, runs the model, then
 * {@link #decode} and {@link ClassMasks#resizeNearest}; no constant is typed twice.
 */
public final class SegmentationPipeline {
    private final ModelMetadata metadata;
    private final Preprocessor preprocessor;
    private final TensorSpec input;
    private final TensorSpec mask;
    private final TensorSpec presence;
    private final int maskIndex;
    private final int presenceIndex;

    /**
     * Checks the model's tensors against its metadata and finds the outputs by rank: the 4-D
     * {@code [1, H, W, C]} output is the mask, a 2-D {@code [1, 1]} output the presence score.
     *
     * @throws UnsupportedOperationException for preprocessing the core does not implement
     * @throws MetadataException when tensors and metadata disagree
     */
    public SegmentationPipeline(ModelMetadata metadata, TensorSpec input, List<TensorSpec> outputs) {
        this.metadata = metadata;
        this.preprocessor = new Preprocessor(metadata.preprocessing());
        int h = metadata.inputHeight();
        int w = metadata.inputWidth();
        if (input.rank() != 4 || input.dim(0) != 1 || input.dim(1) != h || input.dim(2) != w
                || input.dim(3) != 1) {
            throw new MetadataException("input tensor " + input + " does not match the metadata "
                    + "input [1, " + h + ", " + w + ", 1]: re-export the model");
        }
        int m = -1;
        int p = -1;
        for (int i = 0; i < outputs.size(); i++) {
            TensorSpec t = outputs.get(i);
            if (t.rank() == 4 && m < 0) {
                m = i;
            } else if (t.rank() == 2 && t.dim(0) == 1 && t.dim(1) == 1 && p < 0) {
                p = i;
            }
        }
        if (m < 0) {
            throw new MetadataException("the model has no 4-D [1, H, W, C] mask output (outputs: "
                    + outputs + ")");
        }
        TensorSpec maskTensor = outputs.get(m);
        if (maskTensor.dim(0) != 1 || maskTensor.dim(3) != metadata.classes().size()) {
            throw new MetadataException("mask output " + maskTensor + " has "
                    + maskTensor.dim(3) + " channels but the metadata lists "
                    + metadata.classes().size() + " classes " + metadata.classes());
        }
        this.input = input;
        this.mask = maskTensor;
        this.maskIndex = m;
        this.presenceIndex = p;
        this.presence = p < 0 ? null : outputs.get(p);
    }

    public ModelMetadata metadata() {
        return metadata;
    }

    public Preprocessor preprocessor() {
        return preprocessor;
    }

    /** Index of the mask output among the model's outputs. */
    public int maskOutputIndex() {
        return maskIndex;
    }

    /** Index of the presence output, or -1 when the model has none. */
    public int presenceOutputIndex() {
        return presenceIndex;
    }

    public TensorSpec inputTensor() {
        return input;
    }

    public TensorSpec maskTensor() {
        return mask;
    }

    /** Frame (gray, any size) to the input tensor bytes. */
    public ByteBuffer prepareInput(GrayImage frame) {
        return Quantization.encodeInput(preprocessor.apply(frame), metadata.inputScale(), input);
    }

    /** The presence score from its raw output, or {@code null} when the model has none. */
    public Double presenceScore(ByteBuffer raw) {
        if (presence == null || raw == null) {
            return null;
        }
        return Quantization.dequantizeAll(raw, presence)[0];
    }

    /** Raw mask output (and presence score, may be null) to masks at model resolution. */
    public ClassMasks decode(ByteBuffer rawMask, Double presenceScore, PostprocessSpec post) {
        double[] probs = Quantization.dequantizeAll(rawMask, mask);
        return Postprocessor.apply(probs, mask.dim(2), mask.dim(1), mask.dim(3), presenceScore,
                post);
    }

    /**
     * Dequantizes the raw mask output once and keeps it, so that {@link KeptOutput#masks}
     * re-runs only post-processing when a setting such as the threshold changes. The buffer
     * may be reused for the next frame afterwards.
     */
    public KeptOutput keep(ByteBuffer rawMask, Double presenceScore) {
        double[] probs = Quantization.dequantizeAll(rawMask, mask);
        return new KeptOutput(probs, mask.dim(2), mask.dim(1), mask.dim(3), presenceScore);
    }
}

package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Raw output tensor -> mask (model size) -> mask (frame size) -> overlay, exact vs Python. */
class GoldenPostprocessTest {

    @Test
    void goldensExist() {
        assertFalse(Golden.cases("postprocess").isEmpty(), "no postprocess goldens");
    }

    @TestFactory
    Stream<DynamicTest> tensorToMask() {
        List<String> names = Golden.cases("postprocess", "model");
        return names.stream().map(name -> DynamicTest.dynamicTest(name, () -> check(Golden.load(name))));
    }

    private static void check(Golden.Case c) {
        ModelMetadata md = c.metadata();
        TensorSpec out = c.tensor("output_tensor");
        List<TensorSpec> outputs = new ArrayList<>();
        Double presence = null;
        ByteBuffer presenceRaw = null;
        if (c.has("presence_tensor")) {
            outputs.add(c.tensor("presence_tensor")); // deliberately first: found by rank
            presenceRaw = c.buffer("presence_tensor");
        }
        outputs.add(out);
        int[] s = out.shape();
        TensorSpec input = new TensorSpec("input", TensorSpec.Type.INT8,
                new int[] {1, md.inputHeight(), md.inputWidth(), 1}, 1f / 255, -128);
        SegmentationPipeline pipeline = new SegmentationPipeline(md, input, outputs);
        assertEquals(outputs.size() - 1, pipeline.maskOutputIndex());
        presence = pipeline.presenceScore(presenceRaw);
        if (c.has("presence_score")) {
            assertEquals((Double) c.doc.get("presence_score"), presence, 0.0, c + ": presence");
        }

        ClassMasks model = pipeline.decode(c.buffer("output_tensor"), presence, md.postprocess());
        assertEquals(s[2], model.width());
        assertEquals(s[1], model.height());
        GoldenPreprocessTest.assertSame(c, "mask_model", model.data());

        // threshold-only re-post-processing: the kept probabilities give the same masks as a
        // fresh decode, at the model's threshold and at others, without running the model again
        KeptOutput kept = pipeline.keep(c.buffer("output_tensor"), presence);
        GoldenPreprocessTest.assertSame(c, "mask_model", kept.masks(md.postprocess()).data());
        for (double t : new double[] {0.2, 0.5, 0.8}) {
            PostprocessSpec post = md.postprocess().withThreshold(t);
            assertArrayEquals(pipeline.decode(c.buffer("output_tensor"), presence, post).data(),
                    kept.masks(post).data(), c + ": kept output at threshold " + t);
        }

        GrayImage gray = c.image("gray");
        ClassMasks frameMasks = model.resizeNearest(gray.width(), gray.height());
        GoldenPreprocessTest.assertSame(c, "mask", frameMasks.data());

        byte[] rgb = Overlay.rgb(gray, frameMasks, md.classes());
        assertEquals(c.sha256("overlay"), Golden.sha256(rgb), c + ": overlay SHA-256");
        int[] argb = Overlay.argb(gray, frameMasks, md.classes());
        for (int i = 0; i < argb.length; i++) {
            int want = 0xFF000000 | (rgb[3 * i] & 0xFF) << 16 | (rgb[3 * i + 1] & 0xFF) << 8
                    | (rgb[3 * i + 2] & 0xFF);
            if (argb[i] != want) {
                fail(c + ": ARGB overlay differs from the RGB overlay at pixel " + i);
            }
        }
    }
}

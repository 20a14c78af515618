package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collections;
import org.junit.jupiter.api.Test;

class SegmentationPipelineTest {
    private static final ModelMetadata MD = ModelMetadata.fromJson("{\"schema\": \"edgeseg.metadata/1\","
            + " \"input\": {\"height\": 16, \"width\": 32, \"scale\": 0.00392156862745098},"
            + " \"classes\": [{\"name\": \"nerve\", \"value\": 1}],"
            + " \"postprocess\": {\"presence_gate\": true, \"presence_threshold\": 0.5}}");
    private static final TensorSpec INPUT =
            new TensorSpec("in", TensorSpec.Type.INT8, new int[] {1, 16, 32, 1}, 1f / 255, -128);
    private static final TensorSpec MASK =
            new TensorSpec("mask", TensorSpec.Type.INT8, new int[] {1, 16, 32, 1}, 1f / 256, -128);
    private static final TensorSpec PRESENCE =
            new TensorSpec("presence", TensorSpec.Type.INT8, new int[] {1, 1}, 1f / 256, -128);

    @Test
    void outputsAreFoundByRank() {
        SegmentationPipeline p = new SegmentationPipeline(MD, INPUT, Arrays.asList(PRESENCE, MASK));
        assertEquals(1, p.maskOutputIndex());
        assertEquals(0, p.presenceOutputIndex());
        SegmentationPipeline q = new SegmentationPipeline(MD, INPUT, Collections.singletonList(MASK));
        assertEquals(-1, q.presenceOutputIndex());
        assertNull(q.presenceScore(ByteBuffer.allocate(1)));
    }

    @Test
    void presenceGateEmptiesTheMask() {
        SegmentationPipeline p = new SegmentationPipeline(MD, INPUT, Arrays.asList(MASK, PRESENCE));
        ByteBuffer raw = ByteBuffer.allocate(16 * 32);
        for (int i = 0; i < 16 * 32; i++) {
            raw.put(i, (byte) 100); // p ~ 0.89 everywhere
        }
        ByteBuffer low = ByteBuffer.wrap(new byte[] {(byte) -10}); // 0.46
        ByteBuffer high = ByteBuffer.wrap(new byte[] {(byte) 10}); // 0.54
        assertEquals(0, p.decode(raw, p.presenceScore(low), MD.postprocess()).area(0));
        assertEquals(16 * 32, p.decode(raw, p.presenceScore(high), MD.postprocess()).area(0));
        assertEquals(16 * 32, p.decode(raw, null, MD.postprocess()).area(0), "no score: no gate");
    }

    @Test
    void mismatchesSayWhatDisagrees() {
        TensorSpec wrongInput = new TensorSpec("in", TensorSpec.Type.INT8, new int[] {1, 32, 16, 1}, 1f / 255, -128);
        MetadataException e1 = assertThrows(MetadataException.class,
                () -> new SegmentationPipeline(MD, wrongInput, Collections.singletonList(MASK)));
        assertTrue(e1.getMessage().contains("does not match the metadata input [1, 16, 32, 1]"), e1.getMessage());
        TensorSpec twoChannels = new TensorSpec("mask", TensorSpec.Type.INT8, new int[] {1, 16, 32, 2}, 1f / 256, -128);
        MetadataException e2 = assertThrows(MetadataException.class,
                () -> new SegmentationPipeline(MD, INPUT, Collections.singletonList(twoChannels)));
        assertTrue(e2.getMessage().contains("2 channels but the metadata lists 1 classes"), e2.getMessage());
        MetadataException e3 = assertThrows(MetadataException.class,
                () -> new SegmentationPipeline(MD, INPUT, Collections.singletonList(PRESENCE)));
        assertTrue(e3.getMessage().contains("no 4-D"), e3.getMessage());
    }
}

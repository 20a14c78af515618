package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Frame -> gray -> resized -> preprocessed -> input tensor, byte-exact against Python. */
class GoldenPreprocessTest {

    @Test
    void goldensExist() {
        assertFalse(Golden.cases("preprocess").isEmpty(), "no preprocess goldens: run make_golden.py");
    }

    @TestFactory
    Stream<DynamicTest> pixelsToTensor() {
        List<String> names = Golden.cases("preprocess", "model");
        return names.stream().map(name -> DynamicTest.dynamicTest(name, () -> check(Golden.load(name))));
    }

    private static void check(Golden.Case c) {
        ModelMetadata md = c.metadata();
        GrayImage gray = gray(c);
        assertSame(c, "gray", gray.pixels());

        Preprocessor pre = new Preprocessor(md.preprocessing());
        GrayImage resized = pre.resize(gray);
        assertSame(c, "resized", resized.pixels());
        GrayImage normalized = pre.normalize(resized);
        assertSame(c, "preprocessed", normalized.pixels());
        assertSame(c, "preprocessed", pre.apply(gray).pixels());

        TensorSpec input = c.tensor("input_tensor");
        ByteBuffer tensor = Quantization.encodeInput(normalized, md.inputScale(), input);
        assertSame(c, "input_tensor", littleEndian(tensor, input));

        // The facade the app uses gives the same bytes.
        int classes = md.classes().size();
        TensorSpec mask = new TensorSpec("mask", TensorSpec.Type.INT8,
                new int[] {1, md.inputHeight(), md.inputWidth(), classes}, 1f / 256, -128);
        List<TensorSpec> outputs = new ArrayList<>(Collections.singletonList(mask));
        SegmentationPipeline pipeline = new SegmentationPipeline(md, input, outputs);
        assertSame(c, "input_tensor", littleEndian(pipeline.prepareInput(gray), input));
    }

    /** The frame as the app would hand it over, converted to gray. */
    private static GrayImage gray(Golden.Case c) {
        int[] s = c.shape("frame");
        byte[] frame = c.bytes("frame");
        String dtype = c.dtype("frame");
        if ("uint16".equals(dtype)) {
            ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
            int[] samples = new int[s[0] * s[1]];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = b.getShort(2 * i) & 0xFFFF;
            }
            return GrayConversion.fromGray16(samples, s[1], s[0]);
        }
        assertEquals("uint8", dtype, c + ": frame dtype");
        if (s.length == 2) {
            return new GrayImage(s[1], s[0], frame);
        }
        int channels = s[2];
        GrayImage fromBytes = GrayConversion.fromInterleaved(frame, s[1], s[0], channels);
        // The Android path: ARGB ints as Bitmap.getPixels returns them.
        int[] argb = new int[s[0] * s[1]];
        for (int i = 0; i < argb.length; i++) {
            int a = channels == 4 ? frame[channels * i + 3] & 0xFF : 0xFF;
            argb[i] = a << 24 | (frame[channels * i] & 0xFF) << 16
                    | (frame[channels * i + 1] & 0xFF) << 8 | (frame[channels * i + 2] & 0xFF);
        }
        GrayImage fromArgb = GrayConversion.fromArgb(argb, s[1], s[0]);
        assertNull(Golden.firstDifference(fromBytes.pixels(), fromArgb.pixels(), new int[] {s[0], s[1]}),
                c + ": ARGB and interleaved conversions disagree");
        return fromArgb;
    }

    /** Tensor bytes in little-endian order (golden files are little-endian). */
    static byte[] littleEndian(ByteBuffer tensor, TensorSpec spec) {
        if (spec.type() != TensorSpec.Type.FLOAT32) {
            byte[] out = new byte[spec.byteCount()];
            for (int i = 0; i < out.length; i++) {
                out[i] = tensor.get(i);
            }
            return out;
        }
        ByteBuffer out = ByteBuffer.allocate(spec.byteCount()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < spec.elementCount(); i++) {
            out.putFloat(4 * i, tensor.getFloat(4 * i));
        }
        return out.array();
    }

    static void assertSame(Golden.Case c, String key, byte[] actual) {
        String diff = Golden.firstDifference(c.bytes(key), actual, c.shape(key));
        assertNull(diff, () -> c + ": " + key + " differs from Python: " + diff);
    }
}

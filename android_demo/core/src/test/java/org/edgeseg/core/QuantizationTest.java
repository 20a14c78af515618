package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class QuantizationTest {
    private static final double SHIPPED_SCALE = 0.00392156862745098; // metadata input.scale

    private static GrayImage ramp() {
        byte[] px = new byte[256];
        for (int i = 0; i < 256; i++) {
            px[i] = (byte) i;
        }
        return new GrayImage(16, 16, px);
    }

    @Test
    void networkInputIsBitIdenticalToPixelOver255() {
        double[] x = Quantization.networkInput(ramp(), SHIPPED_SCALE);
        for (int p = 0; p < 256; p++) {
            assertEquals(Double.doubleToLongBits(p / 255.0), Double.doubleToLongBits(x[p]), "pixel " + p);
        }
    }

    @Test
    void otherPixelScalesMultiply() {
        double[] x = Quantization.networkInput(ramp(), 0.004);
        for (int p = 0; p < 256; p++) {
            assertEquals(Double.doubleToLongBits(p * 0.004), Double.doubleToLongBits(x[p]), "pixel " + p);
        }
    }

    @Test
    void uint8InputWithScaleOneOver255IsTheRawPixel() {
        TensorSpec t = new TensorSpec("in", TensorSpec.Type.UINT8, new int[] {1, 16, 16, 1}, 1f / 255, 0);
        ByteBuffer b = Quantization.encodeInput(ramp(), SHIPPED_SCALE, t);
        for (int p = 0; p < 256; p++) {
            assertEquals(p, b.get(p) & 0xFF);
        }
        assertEquals(0, b.position());
        assertEquals(256, b.limit());
    }

    @Test
    void int8InputShiftsByTheZeroPoint() {
        TensorSpec t = new TensorSpec("in", TensorSpec.Type.INT8, new int[] {1, 16, 16, 1}, 1f / 255, -128);
        ByteBuffer b = Quantization.encodeInput(ramp(), SHIPPED_SCALE, t);
        for (int p = 0; p < 256; p++) {
            assertEquals(p - 128, b.get(p));
        }
    }

    @Test
    void quantizeClipsToTheTypeRange() {
        TensorSpec t = new TensorSpec("in", TensorSpec.Type.INT8, new int[] {1}, 0.001f, 5);
        assertEquals(127, Quantization.quantize(1.0, t));
        assertEquals(-128, Quantization.quantize(-1.0, t));
    }

    @Test
    void dequantizeUsesTheTensorsOwnParameters() {
        TensorSpec t = new TensorSpec("out", TensorSpec.Type.INT8, new int[] {1, 1}, 1f / 256, -128);
        assertEquals(0.5, Quantization.dequantize(0, t), 0.0);
        assertEquals(0.0, Quantization.dequantize(-128, t), 0.0);
        assertEquals(255 / 256.0, Quantization.dequantize(127, t), 0.0);
    }

    @Test
    void quantizedTensorWithoutScaleIsRejected() {
        MetadataException e = assertThrows(MetadataException.class,
                () -> new TensorSpec("out", TensorSpec.Type.UINT8, new int[] {1}, 0f, 0));
        assertEquals(true, e.getMessage().contains("no quantization scale"), e.getMessage());
    }

    @Test
    void inputSizeMismatchIsAMetadataError() {
        TensorSpec t = new TensorSpec("in", TensorSpec.Type.UINT8, new int[] {1, 8, 8, 1}, 1f / 255, 0);
        assertThrows(MetadataException.class, () -> Quantization.encodeInput(ramp(), SHIPPED_SCALE, t));
    }
}

package org.edgeseg.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Pixels to input tensor and output tensor to probabilities (runtime contract, sections 2-3),
 * in one place, always with the tensor's own scale and zero point, in float64.
 */
public final class Quantization {
    private Quantization() {}

    /** The usual {@code input.scale}: one pixel step is 1/255. */
    public static final double PIXEL_SCALE = 1.0 / 255.0;

    /**
     * The network's float input for each pixel (float64).
     *
     * <p>For the standard {@code input.scale = 1/255} this is {@code pixel / 255.0}, exactly as
     * the contract writes it ({@code pixel * scale} differs in the last bit for 24 pixel values);
     * any other scale gives {@code pixel * scale}. The same rule as
     * {@code edgeseg.edge_runtime.segmenter.pixels_to_float} (relative tolerance 1e-12).
     */
    public static double[] networkInput(GrayImage img, double inputScale) {
        boolean standard = Math.abs(inputScale - PIXEL_SCALE)
                <= 1e-12 * Math.max(Math.abs(inputScale), PIXEL_SCALE);
        byte[] px = img.pixels();
        double[] x = new double[px.length];
        for (int i = 0; i < px.length; i++) {
            int p = px[i] & 0xFF;
            x[i] = standard ? p / 255.0 : p * inputScale;
        }
        return x;
    }

    /** {@code q = clip(floor(x / s + 0.5) + z, qmin, qmax)} with {@code s} widened from float32. */
    public static int quantize(double x, TensorSpec tensor) {
        double s = tensor.scale();
        double q = Math.floor(x / s + 0.5) + tensor.zeroPoint();
        return (int) Math.min(Math.max(q, tensor.type().qmin), tensor.type().qmax);
    }

    /** {@code p = (q - z) * s} in float64. */
    public static double dequantize(int q, TensorSpec tensor) {
        return (q - tensor.zeroPoint()) * (double) tensor.scale();
    }

    /**
     * The input tensor for a preprocessed image: a direct buffer in native byte order, position
     * 0, limit = tensor size, ready for the interpreter.
     */
    public static ByteBuffer encodeInput(GrayImage img, double inputScale, TensorSpec tensor) {
        if (tensor.elementCount() != img.width() * img.height()) {
            throw new MetadataException("input tensor " + tensor + " does not hold a "
                    + img.width() + "x" + img.height() + " image: the metadata and the model "
                    + "disagree; re-export the model");
        }
        double[] x = networkInput(img, inputScale);
        ByteBuffer out = ByteBuffer.allocateDirect(tensor.byteCount()).order(ByteOrder.nativeOrder());
        for (int i = 0; i < x.length; i++) {
            switch (tensor.type()) {
                case FLOAT32:
                    out.putFloat(4 * i, (float) x[i]);
                    break;
                case UINT8:
                case INT8:
                    out.put(i, (byte) quantize(x[i], tensor));
                    break;
                default:
                    throw new IllegalStateException("unhandled type " + tensor.type());
            }
        }
        return out;
    }

    /**
     * Every element of a tensor's raw bytes as float64 probabilities. Reads are absolute from
     * index 0; float tensors use the buffer's byte order.
     */
    public static double[] dequantizeAll(ByteBuffer raw, TensorSpec tensor) {
        int n = tensor.elementCount();
        if (raw.capacity() < tensor.byteCount()) {
            throw new IllegalArgumentException("tensor " + tensor + " needs " + tensor.byteCount()
                    + " bytes, buffer has " + raw.capacity());
        }
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            switch (tensor.type()) {
                case FLOAT32:
                    p[i] = raw.getFloat(4 * i);
                    break;
                case UINT8:
                    p[i] = dequantize(raw.get(i) & 0xFF, tensor);
                    break;
                case INT8:
                    p[i] = dequantize(raw.get(i), tensor);
                    break;
                default:
                    throw new IllegalStateException("unhandled type " + tensor.type());
            }
        }
        return p;
    }
}

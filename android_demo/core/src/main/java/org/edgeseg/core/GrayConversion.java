package org.edgeseg.core;

/**
 * Frame pixels to 8-bit gray, as Pillow does (runtime contract, section 1 step 1).
 *
 * <p>RGB(A): Pillow's {@code convert("L")}, {@code (R*19595 + G*38470 + B*7471 + 0x8000) >> 16};
 * alpha is ignored. 16-bit: {@code (v*255 + 32767) / 65535}.
 */
public final class GrayConversion {
    private GrayConversion() {}

    /** Pillow's ITU-R 601-2 luma of one RGB triple (0..255 each). */
    public static int luma(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    }

    /** ARGB ints (Android {@code Bitmap.getPixels}, un-premultiplied) to gray; alpha ignored. */
    public static GrayImage fromArgb(int[] argb, int width, int height) {
        if (argb.length < width * height) {
            throw new IllegalArgumentException("frame " + width + "x" + height + " needs "
                    + width * height + " ARGB pixels, got " + argb.length);
        }
        byte[] out = new byte[width * height];
        for (int i = 0; i < out.length; i++) {
            int p = argb[i];
            out[i] = (byte) luma((p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF);
        }
        return new GrayImage(width, height, out);
    }

    /** Interleaved 8-bit RGB ({@code channels = 3}) or RGBA ({@code channels = 4}) bytes to gray. */
    public static GrayImage fromInterleaved(byte[] data, int width, int height, int channels) {
        if (channels == 1) {
            return new GrayImage(width, height, data.clone());
        }
        if (channels != 3 && channels != 4) {
            throw new IllegalArgumentException("frame has " + channels
                    + " channels: expected 1 (gray), 3 (RGB) or 4 (RGBA)");
        }
        if (data.length != width * height * channels) {
            throw new IllegalArgumentException("frame " + width + "x" + height + "x" + channels
                    + " needs " + width * height * channels + " bytes, got " + data.length);
        }
        byte[] out = new byte[width * height];
        for (int i = 0, j = 0; i < out.length; i++, j += channels) {
            out[i] = (byte) luma(data[j] & 0xFF, data[j + 1] & 0xFF, data[j + 2] & 0xFF);
        }
        return new GrayImage(width, height, out);
    }

    /** 16-bit samples (0..65535; values outside are clipped) to 8-bit. */
    public static GrayImage fromGray16(int[] samples, int width, int height) {
        if (samples.length != width * height) {
            throw new IllegalArgumentException("frame " + width + "x" + height + " needs "
                    + width * height + " samples, got " + samples.length);
        }
        byte[] out = new byte[samples.length];
        for (int i = 0; i < out.length; i++) {
            long v = Math.min(65535, Math.max(0, samples[i]));
            out[i] = (byte) ((v * 255 + 32767) / 65535);
        }
        return new GrayImage(width, height, out);
    }
}

package org.edgeseg.core;

import java.util.List;

/**
 * Mask overlay on the gray frame (runtime contract, section 4): on a class's mask pixels each
 * channel is {@code (base*(256 - A) + colour*A + 128) >> 8} with {@code A = 115} and
 * {@code base} the gray frame value; other pixels keep the gray. Classes are painted in metadata
 * order, so a later class replaces an earlier one where both are set.
 */
public final class Overlay {
    /** Blend weight out of 256 (about 45 %). */
    public static final int ALPHA = 115;

    private Overlay() {}

    /** Opaque ARGB pixels (Android {@code Bitmap.createBitmap(int[], w, h, ARGB_8888)}). */
    public static int[] argb(GrayImage frame, ClassMasks masks, List<ClassSpec> classes) {
        byte[] rgb = rgb(frame, masks, classes);
        int[] out = new int[frame.width() * frame.height()];
        for (int i = 0; i < out.length; i++) {
            out[i] = 0xFF000000 | (rgb[3 * i] & 0xFF) << 16 | (rgb[3 * i + 1] & 0xFF) << 8
                    | (rgb[3 * i + 2] & 0xFF);
        }
        return out;
    }

    /** Interleaved RGB bytes, HxWx3. */
    public static byte[] rgb(GrayImage frame, ClassMasks masks, List<ClassSpec> classes) {
        if (masks.width() != frame.width() || masks.height() != frame.height()) {
            throw new IllegalArgumentException("masks " + masks.width() + "x" + masks.height()
                    + " do not match the frame " + frame.width() + "x" + frame.height()
                    + ": resize them with ClassMasks.resizeNearest first");
        }
        if (masks.channels() > classes.size()) {
            throw new IllegalArgumentException("masks have " + masks.channels()
                    + " channels but the metadata lists " + classes.size() + " classes");
        }
        int n = frame.width() * frame.height();
        byte[] gray = frame.pixels();
        byte[] mask = masks.data();
        int channels = masks.channels();
        byte[] out = new byte[3 * n];
        for (int i = 0; i < n; i++) {
            int base = gray[i] & 0xFF;
            int r = base;
            int g = base;
            int b = base;
            for (int c = 0; c < channels; c++) {
                if (mask[i * channels + c] != 0) {
                    ClassSpec cls = classes.get(c);
                    r = blend(base, cls.red());
                    g = blend(base, cls.green());
                    b = blend(base, cls.blue());
                }
            }
            out[3 * i] = (byte) r;
            out[3 * i + 1] = (byte) g;
            out[3 * i + 2] = (byte) b;
        }
        return out;
    }

    static int blend(int base, int colour) {
        return (base * (256 - ALPHA) + colour * ALPHA + 128) >> 8;
    }
}

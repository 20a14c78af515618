package org.edgeseg.core;

import java.util.List;

/**
 * How the app draws masks: the contract's filled blend ({@link Overlay}, alpha 115/256) by
 * default, or another opacity, or outlines only. Display choices, not part of the contract:
 * the default style draws exactly the contract's overlay.
 */
public final class OverlayStyle {
    /** The contract's overlay. */
    public static final OverlayStyle CONTRACT = new OverlayStyle(Overlay.ALPHA, false);

    private final int alpha;
    private final boolean outline;

    /**
     * @param alpha blend weight of the class colour out of 256 (0..256)
     * @param outline paint only mask pixels with a 4-neighbour outside the mask or the frame
     */
    public OverlayStyle(int alpha, boolean outline) {
        if (alpha < 0 || alpha > 256) {
            throw new IllegalArgumentException("alpha " + alpha + ": expected 0..256");
        }
        this.alpha = alpha;
        this.outline = outline;
    }

    /** Opacity 0..1 to a style (alpha rounded to 1/256). */
    public static OverlayStyle of(double opacity, boolean outline) {
        if (!(opacity >= 0 && opacity <= 1)) {
            throw new IllegalArgumentException("opacity " + opacity + ": expected 0..1");
        }
        return new OverlayStyle((int) Math.round(opacity * 256), outline);
    }

    public int alpha() {
        return alpha;
    }

    public boolean outline() {
        return outline;
    }

    /** Opaque ARGB pixels of the frame with the masks drawn in this style. */
    public int[] argb(GrayImage frame, ClassMasks masks, List<ClassSpec> classes) {
        if (alpha == Overlay.ALPHA && !outline) {
            return Overlay.argb(frame, masks, classes);
        }
        int w = frame.width();
        int h = frame.height();
        ClassMasks drawn = outline ? outlines(masks) : masks;
        byte[] gray = frame.pixels();
        int[] out = Overlay.argb(frame, drawn, classes); // validates sizes and classes
        byte[] mask = drawn.data();
        int channels = drawn.channels();
        for (int i = 0; i < w * h; i++) {
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
            out[i] = 0xFF000000 | r << 16 | g << 8 | b;
        }
        return out;
    }

    private int blend(int base, int colour) {
        return (base * (256 - alpha) + colour * alpha + 128) >> 8;
    }

    /** Mask pixels with a 4-neighbour outside their class mask or the frame. */
    static ClassMasks outlines(ClassMasks masks) {
        int w = masks.width();
        int h = masks.height();
        int channels = masks.channels();
        byte[][] planes = new byte[channels][];
        for (int c = 0; c < channels; c++) {
            byte[] in = masks.plane(c);
            byte[] edge = new byte[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int i = y * w + x;
                    if (in[i] == 0) {
                        continue;
                    }
                    boolean border = x == 0 || y == 0 || x == w - 1 || y == h - 1
                            || in[i - 1] == 0 || in[i + 1] == 0 || in[i - w] == 0 || in[i + w] == 0;
                    edge[i] = (byte) (border ? 1 : 0);
                }
            }
            planes[c] = edge;
        }
        return ClassMasks.fromPlanes(w, h, planes);
    }
}

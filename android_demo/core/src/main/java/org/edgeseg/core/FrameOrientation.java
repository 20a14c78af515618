package org.edgeseg.core;

/**
 * EXIF orientation applied to a decoded gray frame (runtime contract, section 0.3;
 * {@code edgeseg.imaging.orient_gray}). Codes 2..8 are exact pixel transposes, as Pillow's
 * {@code ImageOps.exif_transpose} applies them; 1, a missing tag and any other value leave the
 * frame as stored. A camera frame's clockwise rotation maps onto the same codes
 * ({@link #fromRotationDegrees}).
 */
public final class FrameOrientation {
    /** As stored (EXIF 1). */
    public static final int NORMAL = 1;

    private FrameOrientation() {}

    /** The EXIF code that turns a frame upright when it must be rotated clockwise by degrees. */
    public static int fromRotationDegrees(int degrees) {
        switch (((degrees % 360) + 360) % 360) {
            case 0:
                return NORMAL;
            case 90:
                return 6;
            case 180:
                return 3;
            case 270:
                return 8;
            default:
                throw new IllegalArgumentException("rotation " + degrees
                        + " degrees: expected a multiple of 90");
        }
    }

    /** Width of the frame after {@link #apply} (swapped for codes 5..8). */
    public static int orientedWidth(int width, int height, int orientation) {
        return swaps(orientation) ? height : width;
    }

    /** Height of the frame after {@link #apply}. */
    public static int orientedHeight(int width, int height, int orientation) {
        return swaps(orientation) ? width : height;
    }

    /** The frame turned upright; the same object for code 1 or an unknown code. */
    public static GrayImage apply(GrayImage frame, int orientation) {
        if (orientation < 2 || orientation > 8) {
            return frame;
        }
        int w = frame.width();
        int h = frame.height();
        int ow = orientedWidth(w, h, orientation);
        int oh = orientedHeight(w, h, orientation);
        byte[] src = frame.pixels();
        byte[] out = new byte[w * h];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                out[y * ow + x] = src[sourceIndex(x, y, w, h, orientation)];
            }
        }
        return new GrayImage(ow, oh, out);
    }

    private static boolean swaps(int orientation) {
        return orientation >= 5 && orientation <= 8;
    }

    /** Index in the stored frame of output pixel (x, y). */
    private static int sourceIndex(int x, int y, int w, int h, int orientation) {
        switch (orientation) {
            case 2: // mirror left-right
                return y * w + (w - 1 - x);
            case 3: // rotate 180
                return (h - 1 - y) * w + (w - 1 - x);
            case 4: // mirror top-bottom
                return (h - 1 - y) * w + x;
            case 5: // transpose
                return x * w + y;
            case 6: // rotate 90 clockwise
                return (h - 1 - x) * w + y;
            case 7: // transverse
                return (h - 1 - x) * w + (w - 1 - y);
            case 8: // rotate 90 counter-clockwise
                return x * w + (w - 1 - y);
            default:
                return y * w + x;
        }
    }
}

package org.edgeseg.core;

/**
 * The downsampling rule for oversized frames (runtime contract, section 0.2;
 * {@code edgeseg.imaging.reduce_factor} and {@code reduce_gray}): a gray frame above
 * {@link #MAX_FRAME_PIXELS} is reduced by the smallest integer factor {@code f} for which
 * {@code ceil(w/f) * ceil(h/f) <= MAX_FRAME_PIXELS}; each output pixel is the mean of its
 * {@code f x f} block (smaller at the right and bottom edges), rounded half up in integers:
 * {@code (sum + n/2) / n}.
 *
 * <p>Blocks start at the stored frame's top-left corner, before any EXIF orientation, so the
 * rule can run strip by strip while a large photo is decoded ({@link Reducer}): no full-size
 * bitmap is ever held.
 */
public final class FrameReduction {
    /** 2048 x 2048 pixels: above any ultrasound frame, far below a 25 MP photo. */
    public static final long MAX_FRAME_PIXELS = 2048L * 2048L;

    private FrameReduction() {}

    /** The reduction factor for a stored frame of this size (1 = kept as is). */
    public static int factor(int width, int height, long maxPixels) {
        if (width <= 0 || height <= 0 || maxPixels <= 0) {
            throw new IllegalArgumentException("frame " + width + "x" + height
                    + " and limit " + maxPixels + " must be positive");
        }
        int f = 1;
        while (ceilDiv(width, f) * (long) ceilDiv(height, f) > maxPixels) {
            f++;
        }
        return f;
    }

    /** {@link #factor(int, int, long)} with {@link #MAX_FRAME_PIXELS}. */
    public static int factor(int width, int height) {
        return factor(width, height, MAX_FRAME_PIXELS);
    }

    /** The whole frame reduced by factor {@code f}; the same object when {@code f == 1}. */
    public static GrayImage reduce(GrayImage frame, int f) {
        if (f == 1) {
            return frame;
        }
        Reducer reducer = new Reducer(frame.width(), frame.height(), f);
        reducer.addRows(frame.pixels(), frame.height());
        return reducer.result();
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /**
     * Reduces a frame fed top to bottom in strips of whole rows; every strip but the last must
     * hold a multiple of {@code f} rows, so that blocks never straddle two strips.
     */
    public static final class Reducer {
        private final int width;
        private final int height;
        private final int f;
        private final int outWidth;
        private final int outHeight;
        private final byte[] out;
        private final long[] sums;
        private int rowsSeen;

        public Reducer(int width, int height, int f) {
            if (f < 1 || width <= 0 || height <= 0) {
                throw new IllegalArgumentException("frame " + width + "x" + height
                        + ", factor " + f + ": all must be positive");
            }
            this.width = width;
            this.height = height;
            this.f = f;
            this.outWidth = ceilDiv(width, f);
            this.outHeight = ceilDiv(height, f);
            this.out = new byte[outWidth * outHeight];
            this.sums = new long[outWidth];
        }

        /** Rows per strip for a decoder: a multiple of f near {@code targetRows}. */
        public int stripRows(int targetRows) {
            return Math.max(1, targetRows / f) * f;
        }

        /** Adds {@code rows} full rows (gray, {@code rows * width} bytes from index 0). */
        public void addRows(byte[] gray, int rows) {
            if (rows <= 0 || gray.length < rows * width || rowsSeen + rows > height) {
                throw new IllegalArgumentException(rows + " rows of " + width + " px after "
                        + rowsSeen + " of " + height + " (buffer " + gray.length + " bytes)");
            }
            if (rowsSeen % f != 0) {
                throw new IllegalStateException("the previous strip ended inside a block: "
                        + "strips must hold a multiple of " + f + " rows");
            }
            for (int r = 0; r < rows; r++) {
                int y = rowsSeen + r;
                int base = r * width;
                for (int x = 0; x < width; x++) {
                    sums[x / f] += gray[base + x] & 0xFF;
                }
                boolean lastOfBlock = (y + 1) % f == 0 || y + 1 == height;
                if (lastOfBlock) {
                    int blockRows = y % f + 1;
                    int oy = y / f;
                    for (int ox = 0; ox < outWidth; ox++) {
                        int blockCols = Math.min(f, width - ox * f);
                        long n = (long) blockRows * blockCols;
                        out[oy * outWidth + ox] = (byte) ((sums[ox] + n / 2) / n);
                        sums[ox] = 0;
                    }
                }
            }
            rowsSeen += rows;
        }

        /** The reduced frame, once every row has been added. */
        public GrayImage result() {
            if (rowsSeen != height) {
                throw new IllegalStateException(rowsSeen + " of " + height + " rows added");
            }
            return new GrayImage(outWidth, outHeight, out);
        }
    }
}

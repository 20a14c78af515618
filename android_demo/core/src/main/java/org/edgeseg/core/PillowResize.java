package org.edgeseg.core;

/**
 * Pillow's 8-bit {@code Image.resize} for BILINEAR and NEAREST, bit for bit.
 *
 * <p>BILINEAR is a port of {@code ImagingResample} (src/libImaging/Resample.c): per axis,
 * {@code precompute_coeffs} with the triangle filter whose support grows with the downscale
 * factor (so downscaling antialiases), coefficients normalised to sum 1 and converted to 22-bit
 * fixed point ({@code PRECISION_BITS = 32 - 8 - 2}); a horizontal pass over the rows the vertical
 * pass needs, then a vertical pass, each rounding ({@code + 1 << 21}) and clipping to 0..255 -
 * except that, as in Pillow 13, the vertical pass goes first when the height shrinks by more
 * than twice as many pixels as the width ({@link #verticalFirst}). The floating-point operations
 * are the C ones in the same order, so results match exactly.
 *
 * <p>NEAREST is Pillow's {@code ImagingScaleAffine} path: source coordinate
 * {@code a/2 + k*a} with {@code a = in/out}, accumulated in double per step as the C loop does,
 * truncated to an index.
 */
public final class PillowResize {
    /** Fixed-point bits of the 8-bit coefficients. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    private PillowResize() {}

    /** Pillow {@code resize((outWidth, outHeight), BILINEAR)} of an 8-bit gray image. */
    public static GrayImage bilinear(GrayImage in, int outWidth, int outHeight) {
        checkSize(outWidth, outHeight);
        int inW = in.width();
        int inH = in.height();
        if (inW == outWidth && inH == outHeight) {
            return in.copy(); // Image.resize returns a copy when nothing changes
        }
        boolean needHorizontal = outWidth != inW;
        boolean needVertical = outHeight != inH;
        byte[] px = in.pixels();
        if (needHorizontal && needVertical && verticalFirst(inW, inH, outWidth, outHeight)) {
            byte[] tmp = verticalPass(px, inW, inH, outHeight, 0);
            return new GrayImage(outWidth, outHeight,
                    horizontalPass(tmp, inW, outWidth, 0, outHeight));
        }
        if (!needVertical) {
            return new GrayImage(outWidth, inH, horizontalPass(px, inW, outWidth, 0, inH));
        }
        if (!needHorizontal) {
            return new GrayImage(inW, outHeight, verticalPass(px, inW, inH, outHeight, 0));
        }
        // Horizontal pass over only the rows the vertical pass reads, then the vertical pass
        // with its bounds shifted by the first row used (ImagingResampleInner).
        Coefficients vert = precompute(inH, outHeight);
        int yFirst = vert.bounds[0];
        int yLast = vert.bounds[outHeight * 2 - 2] + vert.bounds[outHeight * 2 - 1];
        byte[] tmp = horizontalPass(px, inW, outWidth, yFirst, yLast - yFirst);
        return new GrayImage(outWidth, outHeight,
                verticalPass(tmp, outWidth, outHeight, yFirst, vert));
    }

    /**
     * Pass order of Pillow 13 (python-pillow/Pillow#9549): when the height shrinks by more than
     * twice as many pixels as the width, the vertical pass runs first. Older Pillow always runs
     * the horizontal pass first; the two orders can differ by one level on some pixels.
     */
    static boolean verticalFirst(int inW, int inH, int outW, int outH) {
        return outH < inH && (inH - outH) > 2 * (inW - outW);
    }

    /** Resample.c ImagingResampleHorizontal_8bpc over {@code rows} rows starting at {@code row0}. */
    private static byte[] horizontalPass(byte[] src, int inW, int outW, int row0, int rows) {
        Coefficients horiz = precompute(inW, outW);
        int[] kk = horiz.fixedPoint();
        byte[] out = new byte[outW * rows];
        for (int yy = 0; yy < rows; yy++) {
            int rowStart = (yy + row0) * inW;
            for (int xx = 0; xx < outW; xx++) {
                int xmin = horiz.bounds[xx * 2];
                int xmax = horiz.bounds[xx * 2 + 1];
                int k = xx * horiz.ksize;
                int ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) {
                    ss += (src[rowStart + x + xmin] & 0xFF) * kk[k + x];
                }
                out[yy * outW + xx] = clip8(ss);
            }
        }
        return out;
    }

    private static byte[] verticalPass(byte[] src, int width, int inH, int outH, int rowOffset) {
        return verticalPass(src, width, outH, rowOffset, precompute(inH, outH));
    }

    /**
     * Resample.c ImagingResampleVertical_8bpc; {@code src} holds the source rows from
     * {@code rowOffset} on (the shifted bounds of the horizontal-first order).
     */
    private static byte[] verticalPass(byte[] src, int width, int outH, int rowOffset,
            Coefficients vert) {
        int[] kk = vert.fixedPoint();
        byte[] out = new byte[width * outH];
        for (int yy = 0; yy < outH; yy++) {
            int k = yy * vert.ksize;
            int ymin = vert.bounds[yy * 2] - rowOffset;
            int ymax = vert.bounds[yy * 2 + 1];
            for (int xx = 0; xx < width; xx++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < ymax; y++) {
                    ss += (src[(y + ymin) * width + xx] & 0xFF) * kk[k + y];
                }
                out[yy * width + xx] = clip8(ss);
            }
        }
        return out;
    }

    /** Pillow {@code resize((outWidth, outHeight), NEAREST)} of an 8-bit plane. */
    public static byte[] nearest(byte[] src, int inW, int inH, int outWidth, int outHeight) {
        checkSize(outWidth, outHeight);
        if (src.length != inW * inH) {
            throw new IllegalArgumentException("plane " + inW + "x" + inH + " needs "
                    + inW * inH + " bytes, got " + src.length);
        }
        if (inW == outWidth && inH == outHeight) {
            return src.clone();
        }
        // _imaging.c: a[0] = (double)(box[2] - box[0]) / xsize with float box = (0, 0, inW, inH)
        double ax = (double) ((float) inW - 0f) / outWidth;
        double ay = (double) ((float) inH - 0f) / outHeight;
        int[] xin = new int[outWidth];
        double xo = 0.0 + ax * 0.5;
        for (int x = 0; x < outWidth; x++) {
            int xi = coord(xo);
            xin[x] = xi >= 0 && xi < inW ? xi : -1;
            xo += ax;
        }
        byte[] out = new byte[outWidth * outHeight]; // fill = 0 outside the source
        double yo = 0.0 + ay * 0.5;
        for (int y = 0; y < outHeight; y++) {
            int yi = coord(yo);
            if (yi >= 0 && yi < inH) {
                int row = yi * inW;
                for (int x = 0; x < outWidth; x++) {
                    if (xin[x] >= 0) {
                        out[y * outWidth + x] = src[row + xin[x]];
                    }
                }
            }
            yo += ay;
        }
        return out;
    }

    /** Pillow {@code resize(..., NEAREST)} of a gray image. */
    public static GrayImage nearest(GrayImage in, int outWidth, int outHeight) {
        return new GrayImage(outWidth, outHeight,
                nearest(in.pixels(), in.width(), in.height(), outWidth, outHeight));
    }

    /** Geometry.c COORD(v): -1 below zero, else truncation. */
    private static int coord(double v) {
        return v < 0.0 ? -1 : (int) v;
    }

    private static byte clip8(int ss) {
        int v = ss >> PRECISION_BITS; // arithmetic shift, as in C on the targets Pillow supports
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    private static double bilinearFilter(double x) {
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return 1.0 - x;
        }
        return 0.0;
    }

    /** Resample.c precompute_coeffs for box (0, inSize) and the BILINEAR filter (support 1). */
    static Coefficients precompute(int inSize, int outSize) {
        final float in0 = 0f;
        final float in1 = inSize;
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = scale < 1.0 ? 1.0 : scale;
        double support = 1.0 * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        double[] kk = new double[outSize * ksize];
        int[] bounds = new int[outSize * 2];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            int k = xx * ksize;
            for (int x = 0; x < xmax; x++) {
                double w = bilinearFilter((x + xmin - center + 0.5) * ss);
                kk[k + x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) {
                    kk[k + x] /= ww;
                }
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coefficients(ksize, bounds, kk);
    }

    private static void checkSize(int w, int h) {
        if (w < 1 || h < 1) {
            throw new IllegalArgumentException("target size " + w + "x" + h + " must be positive");
        }
    }

    /** Per output pixel: first source index, tap count, and {@code ksize} weights. */
    static final class Coefficients {
        final int ksize;
        final int[] bounds;
        final double[] weights;

        Coefficients(int ksize, int[] bounds, double[] weights) {
            this.ksize = ksize;
            this.bounds = bounds;
            this.weights = weights;
        }

        /** Resample.c normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point. */
        int[] fixedPoint() {
            int[] out = new int[weights.length];
            for (int i = 0; i < weights.length; i++) {
                double w = weights[i];
                out[i] = w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS))
                        : (int) (0.5 + w * (1 << PRECISION_BITS));
            }
            return out;
        }
    }
}

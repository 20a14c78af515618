package org.edgeseg.core;

/**
 * Percentile stretch in integers (runtime contract, section 1 step 5, {@code percentile}).
 *
 * <p>{@code lo} is the first value v with {@code cdf[v] > n*low/100}, {@code hi} the first with
 * {@code cdf[v] >= n*high/100}; if {@code hi <= lo} the image is unchanged, else
 * {@code out = (2*255*(clip(x, lo, hi) - lo) + span) / (2*span)}, {@code span = hi - lo}.
 */
public final class PercentileNormalizer {
    private PercentileNormalizer() {}

    /** The (lo, hi) pair the stretch uses; either may be 256 when no value qualifies. */
    public static int[] bounds(GrayImage img, double low, double high) {
        long[] cdf = new long[256];
        for (byte b : img.pixels()) {
            cdf[b & 0xFF]++;
        }
        for (int v = 1; v < 256; v++) {
            cdf[v] += cdf[v - 1];
        }
        long n = cdf[255];
        // Same float64 expressions as numpy: n * low / 100.0 (left to right).
        double loTarget = (double) n * low / 100.0;
        double hiTarget = (double) n * high / 100.0;
        int lo = 256;
        for (int v = 0; v < 256; v++) {
            if (cdf[v] > loTarget) { // searchsorted(side="right")
                lo = v;
                break;
            }
        }
        int hi = 256;
        for (int v = 0; v < 256; v++) {
            if (cdf[v] >= hiTarget) { // searchsorted(side="left")
                hi = v;
                break;
            }
        }
        return new int[] {lo, hi};
    }

    /** The stretched image (a new image; the input is not modified). */
    public static GrayImage stretch(GrayImage img, double low, double high) {
        int[] b = bounds(img, low, high);
        int lo = b[0];
        int hi = b[1];
        if (hi <= lo) {
            return img.copy();
        }
        int span = hi - lo;
        byte[] lut = new byte[256];
        for (int x = 0; x < 256; x++) {
            int c = Math.min(Math.max(x, lo), hi) - lo;
            lut[x] = (byte) ((2 * 255 * c + span) / (2 * span)); // non-negative: '/' is floor
        }
        byte[] src = img.pixels();
        byte[] out = new byte[src.length];
        for (int i = 0; i < src.length; i++) {
            out[i] = lut[src[i] & 0xFF];
        }
        return new GrayImage(img.width(), img.height(), out);
    }
}

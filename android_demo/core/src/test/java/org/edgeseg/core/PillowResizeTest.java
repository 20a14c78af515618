package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PillowResizeTest {

    @Test
    void halvingTwoPixelsRoundsLikePillow() {
        // weights 0.5/0.5 -> 2^21 each; (2^21 + 255 * 2^21) >> 22 = 128 (Pillow gives 128)
        GrayImage in = new GrayImage(2, 1, new byte[] {0, (byte) 255});
        assertEquals(128, PillowResize.bilinear(in, 1, 1).get(0, 0));
    }

    @ParameterizedTest
    @CsvSource({"1,1,7,3", "13,9,128,128", "600,420,128,128", "5,300,2,2", "128,128,131,97"})
    void constantImageStaysConstant(int iw, int ih, int ow, int oh) {
        byte[] px = new byte[iw * ih];
        Arrays.fill(px, (byte) 201);
        byte[] want = new byte[ow * oh];
        Arrays.fill(want, (byte) 201);
        GrayImage in = new GrayImage(iw, ih, px);
        assertArrayEquals(want, PillowResize.bilinear(in, ow, oh).pixels());
        assertArrayEquals(want, PillowResize.nearest(px, iw, ih, ow, oh));
    }

    @Test
    void sameSizeIsACopy() {
        GrayImage in = new GrayImage(3, 2, new byte[] {1, 2, 3, 4, 5, 6});
        GrayImage out = PillowResize.bilinear(in, 3, 2);
        assertArrayEquals(in.pixels(), out.pixels());
        assertNotSame(in.pixels(), out.pixels());
    }

    @Test
    void nearestUpscaleRepeatsPixels() {
        byte[] out = PillowResize.nearest(new byte[] {1, 2, 3, 4}, 2, 2, 4, 2);
        assertArrayEquals(new byte[] {1, 1, 2, 2, 3, 3, 4, 4}, out);
    }

    @Test
    void coefficientsSumToOneAndCoverTheSupport() {
        PillowResize.Coefficients c = PillowResize.precompute(600, 128);
        assertEquals(2 * (int) Math.ceil(600 / 128.0) + 1, c.ksize);
        int[] fixed = c.fixedPoint();
        for (int xx = 0; xx < 128; xx++) {
            long sum = 0;
            for (int k = 0; k < c.bounds[2 * xx + 1]; k++) {
                sum += fixed[xx * c.ksize + k];
            }
            assertEquals(1 << PillowResize.PRECISION_BITS, sum, 3.0, "tap sum at " + xx);
        }
    }

    @Test
    void rejectsEmptyTargets() {
        GrayImage in = new GrayImage(2, 2, new byte[4]);
        assertThrows(IllegalArgumentException.class, () -> PillowResize.bilinear(in, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> PillowResize.nearest(in, 2, 0));
    }
}

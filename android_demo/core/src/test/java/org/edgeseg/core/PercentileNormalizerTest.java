package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PercentileNormalizerTest {

    @Test
    void constantImageIsUnchanged() {
        byte[] px = new byte[20];
        Arrays.fill(px, (byte) 77);
        GrayImage img = new GrayImage(5, 4, px);
        assertArrayEquals(px, PercentileNormalizer.stretch(img, 1, 99).pixels());
    }

    @Test
    void twoLevelImageStretchesToFullRange() {
        // 50 pixels of 10, 50 of 20: lo = 10 (cdf 50 > 1), hi = 20 (cdf 100 >= 99)
        byte[] px = new byte[100];
        Arrays.fill(px, 0, 50, (byte) 10);
        Arrays.fill(px, 50, 100, (byte) 20);
        GrayImage img = new GrayImage(10, 10, px);
        assertArrayEquals(new int[] {10, 20}, PercentileNormalizer.bounds(img, 1, 99));
        byte[] want = new byte[100];
        Arrays.fill(want, 50, 100, (byte) 255);
        assertArrayEquals(want, PercentileNormalizer.stretch(img, 1, 99).pixels());
    }

    @Test
    void roundingIsHalfUpInIntegers() {
        // lo = 0, hi = 2 (span 2): x = 1 -> (510 + 2) // 4 = 128
        byte[] px = {0, 1, 2, 0, 1, 2};
        GrayImage img = new GrayImage(3, 2, px);
        assertArrayEquals(new int[] {0, 2}, PercentileNormalizer.bounds(img, 0, 100));
        assertArrayEquals(new byte[] {0, (byte) 128, (byte) 255, 0, (byte) 128, (byte) 255},
                PercentileNormalizer.stretch(img, 0, 100).pixels());
    }
}

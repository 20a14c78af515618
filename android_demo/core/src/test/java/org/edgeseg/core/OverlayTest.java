package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class OverlayTest {
    private static final List<ClassSpec> CLASSES = Arrays.asList(
            new ClassSpec("nerve", 1, 0xFFDC00), new ClassSpec("vessel", 2, 0xE62828));

    @Test
    void blendFormula() {
        assertEquals((100 * 141 + 255 * 115 + 128) >> 8, Overlay.blend(100, 255));
        assertEquals(0, Overlay.blend(0, 0));
        assertEquals(255, Overlay.blend(255, 255));
    }

    @Test
    void grayKeptAndLaterClassPaintsOver() {
        GrayImage frame = new GrayImage(3, 1, new byte[] {10, 100, (byte) 200});
        // pixel 0: none; pixel 1: nerve; pixel 2: nerve and vessel -> vessel
        ClassMasks masks = new ClassMasks(3, 1, 2, new byte[] {0, 0, 1, 0, 1, 1});
        int[] argb = Overlay.argb(frame, masks, CLASSES);
        assertEquals(0xFF0A0A0A, argb[0]);
        int r1 = Overlay.blend(100, 255);
        int g1 = Overlay.blend(100, 220);
        int b1 = Overlay.blend(100, 0);
        assertEquals(0xFF000000 | r1 << 16 | g1 << 8 | b1, argb[1]);
        int r2 = Overlay.blend(200, 230);
        int g2 = Overlay.blend(200, 40);
        int b2 = Overlay.blend(200, 40);
        assertEquals(0xFF000000 | r2 << 16 | g2 << 8 | b2, argb[2]);
    }

    @Test
    void masksMustMatchTheFrame() {
        GrayImage frame = new GrayImage(3, 1, new byte[3]);
        ClassMasks masks = new ClassMasks(2, 1, 1, new byte[2]);
        assertThrows(IllegalArgumentException.class, () -> Overlay.argb(frame, masks, CLASSES));
    }
}

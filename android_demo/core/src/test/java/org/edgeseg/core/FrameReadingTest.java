package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Unit tests of the frame-reading pieces: orientation, reduction, dropping, pacing. */
class FrameReadingTest {
    private static GrayImage ramp(int w, int h) {
        byte[] px = new byte[w * h];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 7 + 3);
        }
        return new GrayImage(w, h, px);
    }

    @Test
    void rotationDegreesMapToExifCodes() {
        assertEquals(1, FrameOrientation.fromRotationDegrees(0));
        assertEquals(6, FrameOrientation.fromRotationDegrees(90));
        assertEquals(3, FrameOrientation.fromRotationDegrees(180));
        assertEquals(8, FrameOrientation.fromRotationDegrees(270));
        assertEquals(8, FrameOrientation.fromRotationDegrees(-90));
        assertThrows(IllegalArgumentException.class, () -> FrameOrientation.fromRotationDegrees(45));
    }

    @Test
    void rotationsComposeAsRotations() {
        GrayImage f = ramp(5, 3);
        // 90 clockwise then 90 counter-clockwise is the identity; 90 twice is 180
        assertArrayEquals(f.pixels(), FrameOrientation.apply(FrameOrientation.apply(f, 6), 8).pixels());
        assertArrayEquals(FrameOrientation.apply(f, 3).pixels(),
                FrameOrientation.apply(FrameOrientation.apply(f, 6), 6).pixels());
        // mirrors and transposes are their own inverse
        for (int code : new int[] {2, 4, 5, 7}) {
            assertArrayEquals(f.pixels(),
                    FrameOrientation.apply(FrameOrientation.apply(f, code), code).pixels(), "code " + code);
        }
        GrayImage r = FrameOrientation.apply(f, 6);
        assertEquals(3, r.width());
        assertEquals(5, r.height());
        // rotating clockwise puts the stored bottom-left pixel at the top-left
        assertEquals(f.get(0, 2), r.get(0, 0));
    }

    @Test
    void unknownCodesLeaveTheFrame() {
        GrayImage f = ramp(4, 4);
        for (int code : new int[] {0, 1, 9, -1}) {
            assertSame(f, FrameOrientation.apply(f, code));
        }
    }

    @Test
    void reductionFactorIsMinimal() {
        assertEquals(1, FrameReduction.factor(2048, 2048));
        assertEquals(2, FrameReduction.factor(2049, 2048));
        assertEquals(3, FrameReduction.factor(6000, 4000));
        assertThrows(IllegalArgumentException.class, () -> FrameReduction.factor(0, 5));
        for (int w = 1; w < 60; w += 7) {
            for (int h = 1; h < 60; h += 5) {
                int f = FrameReduction.factor(w, h, 50);
                long fits = (long) FrameReduction.ceilDiv(w, f) * FrameReduction.ceilDiv(h, f);
                assertTrue(fits <= 50);
                if (f > 1) {
                    assertTrue((long) FrameReduction.ceilDiv(w, f - 1)
                            * FrameReduction.ceilDiv(h, f - 1) > 50);
                }
            }
        }
    }

    @Test
    void reductionRoundsHalfUpAndKeepsConstants() {
        GrayImage f = new GrayImage(3, 2, new byte[] {1, 2, 1, 2, 1, 1});
        assertArrayEquals(new byte[] {2, 1}, FrameReduction.reduce(f, 2).pixels());
        byte[] flat = new byte[35];
        java.util.Arrays.fill(flat, (byte) 200);
        GrayImage r = FrameReduction.reduce(new GrayImage(7, 5, flat), 3);
        assertEquals(3, r.width());
        assertEquals(2, r.height());
        for (byte b : r.pixels()) {
            assertEquals(200, b & 0xFF);
        }
    }

    @Test
    void reducerRefusesStripsThatSplitABlock() {
        FrameReduction.Reducer reducer = new FrameReduction.Reducer(4, 6, 2);
        reducer.addRows(new byte[4 * 3], 3);
        assertThrows(IllegalStateException.class, () -> reducer.addRows(new byte[4 * 3], 3));
        FrameReduction.Reducer partial = new FrameReduction.Reducer(4, 6, 2);
        partial.addRows(new byte[8], 2);
        assertThrows(IllegalStateException.class, partial::result);
    }

    @Test
    void latestFrameSlotKeepsOnlyTheNewest() throws InterruptedException {
        LatestFrameSlot<String> slot = new LatestFrameSlot<>();
        assertNull(slot.poll());
        assertNull(slot.offer("a"));
        assertEquals("a", slot.offer("b"));
        assertEquals("b", slot.offer("c"));
        assertEquals("c", slot.take(0));
        assertNull(slot.take(5));
        assertEquals(3, slot.offered());
        assertEquals(2, slot.dropped());
    }

    @Test
    void latestFrameSlotWakesAWaitingConsumer() throws Exception {
        LatestFrameSlot<Integer> slot = new LatestFrameSlot<>();
        AtomicReference<Integer> got = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                got.set(slot.take(5_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        consumer.start();
        Thread.sleep(50);
        slot.offer(42);
        consumer.join(5_000);
        assertEquals(42, got.get());
    }

    @Test
    void videoPacerAtConstantRate() {
        VideoPacer p = VideoPacer.constantRate(10, 25.0);
        assertEquals(10, p.frameCount());
        assertEquals(40_000, p.dueUs(1));
        assertEquals(0, p.next(0));
        assertEquals(1, p.next(10_000)); // none due yet: the next one, to be waited for
        assertEquals(5, p.next(200_000)); // behind: 2, 3, 4 dropped
        assertEquals(3, p.dropped());
        assertEquals(9, p.next(10_000_000));
        assertEquals(-1, p.next(10_000_000));
        assertThrows(IllegalArgumentException.class, () -> VideoPacer.constantRate(3, 0));
        assertThrows(IllegalArgumentException.class, () -> new VideoPacer(new long[] {5, 4}));
    }
}

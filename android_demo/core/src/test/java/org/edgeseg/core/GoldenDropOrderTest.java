package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The frame-dropping rule (contract section 0.4) against the Python runtime's NewestSlot: the
 * camera path ({@link LatestFrameSlot}) and the video path ({@link VideoPacer}) must take the
 * same frames in the same order, on a simulated clock.
 */
class GoldenDropOrderTest {

    @TestFactory
    Stream<DynamicTest> takenOrder() {
        List<String> names = Golden.cases("drop_order");
        assertFalse(names.isEmpty(), "no drop_order goldens");
        return names.stream().flatMap(name -> {
            Golden.Case c = Golden.load(name);
            return Stream.of(
                    DynamicTest.dynamicTest(name + " (LatestFrameSlot)", () -> slot(c)),
                    DynamicTest.dynamicTest(name + " (VideoPacer)", () -> pacer(c)));
        });
    }

    private static long[] longs(Golden.Case c, String key) {
        List<?> values = (List<?>) c.doc.get(key);
        long[] out = new long[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Double) values.get(i)).longValue();
        }
        return out;
    }

    private static List<Integer> expected(Golden.Case c) {
        List<Integer> out = new ArrayList<>();
        for (Object o : (List<?>) c.doc.get("taken")) {
            out.add(((Double) o).intValue());
        }
        return out;
    }

    private static void slot(Golden.Case c) {
        long[] arrivals = longs(c, "arrivals_us");
        long[] busy = longs(c, "busy_us");
        LatestFrameSlot<Integer> slot = new LatestFrameSlot<>();
        List<Integer> taken = new ArrayList<>();
        long t = 0;
        int next = 0;
        while (true) {
            while (next < arrivals.length && arrivals[next] <= t) {
                slot.offer(next++);
            }
            Integer frame = slot.poll();
            if (frame != null) {
                taken.add(frame);
                t += busy[frame];
            } else if (next < arrivals.length) {
                t = arrivals[next];
            } else {
                break;
            }
        }
        assertEquals(expected(c), taken, c + ": frames taken");
        assertEquals(((Double) c.doc.get("dropped")).longValue(), slot.dropped(), c + ": dropped");
        assertEquals(arrivals.length, slot.offered());
    }

    private static void pacer(Golden.Case c) {
        long[] arrivals = longs(c, "arrivals_us");
        long[] busy = longs(c, "busy_us");
        VideoPacer pacer = new VideoPacer(arrivals);
        List<Integer> taken = new ArrayList<>();
        long t = 0;
        for (int i = pacer.next(t); i >= 0; i = pacer.next(t)) {
            t = Math.max(t, pacer.dueUs(i)); // the player waits until the frame is due
            taken.add(i);
            t += busy[i];
        }
        assertEquals(expected(c), taken, c + ": frames shown");
        assertEquals(((Double) c.doc.get("dropped")).longValue(), pacer.dropped(), c + ": dropped");
    }
}

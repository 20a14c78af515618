package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Pillow BILINEAR and NEAREST over many odd (in, out) size pairs, byte-exact. */
class GoldenResizeSweepTest {

    @TestFactory
    Stream<DynamicTest> sweep() {
        Golden.Case c = Golden.load("resize_sweep");
        byte[] src = c.bytes("sources");
        byte[] bil = c.bytes("bilinear");
        byte[] near = c.bytes("nearest");
        List<?> entries = (List<?>) c.doc.get("entries");
        assertEquals(60, entries.size(), "sweep size");
        return entries.stream().map(o -> {
            Map<?, ?> e = (Map<?, ?>) o;
            int iw = num(((List<?>) e.get("in")).get(0));
            int ih = num(((List<?>) e.get("in")).get(1));
            int ow = num(((List<?>) e.get("out")).get(0));
            int oh = num(((List<?>) e.get("out")).get(1));
            int so = num(e.get("src"));
            int bo = num(e.get("bilinear"));
            int no = num(e.get("nearest"));
            String label = iw + "x" + ih + " -> " + ow + "x" + oh;
            return DynamicTest.dynamicTest(label, () -> {
                GrayImage in = new GrayImage(iw, ih, Arrays.copyOfRange(src, so, so + iw * ih));
                int[] shape = {oh, ow};
                byte[] wantB = Arrays.copyOfRange(bil, bo, bo + ow * oh);
                byte[] gotB = PillowResize.bilinear(in, ow, oh).pixels();
                assertNull(Golden.firstDifference(wantB, gotB, shape), label + " bilinear");
                byte[] wantN = Arrays.copyOfRange(near, no, no + ow * oh);
                byte[] gotN = PillowResize.nearest(in.pixels(), iw, ih, ow, oh);
                assertNull(Golden.firstDifference(wantN, gotN, shape), label + " nearest");
            });
        });
    }

    private static int num(Object o) {
        return ((Double) o).intValue();
    }
}

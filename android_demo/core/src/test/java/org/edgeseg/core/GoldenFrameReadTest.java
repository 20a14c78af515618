package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Contract section 0 (reading a frame): reduction factor, block mean, EXIF orientation. */
class GoldenFrameReadTest {

    @Test
    void goldensExist() {
        assertFalse(Golden.cases("frame_read").isEmpty(), "no frame_read goldens");
        assertEquals(1, Golden.cases("reduce_factors").size());
    }

    @TestFactory
    Stream<DynamicTest> storedToUpright() {
        return Golden.cases("frame_read").stream()
                .map(name -> DynamicTest.dynamicTest(name, () -> check(Golden.load(name))));
    }

    private static void check(Golden.Case c) {
        GrayImage stored = c.image("stored");
        long limit = ((Double) c.doc.get("max_pixels")).longValue();
        int factor = FrameReduction.factor(stored.width(), stored.height(), limit);
        assertEquals(((Double) c.doc.get("factor")).intValue(), factor, c + ": factor");
        GrayImage reduced = FrameReduction.reduce(stored, factor);
        GoldenPreprocessTest.assertSame(c, "reduced", reduced.pixels());

        // as the app decodes a large photo: strips of whole blocks, fed top to bottom
        for (int target : new int[] {1, 7, 64}) {
            FrameReduction.Reducer reducer =
                    new FrameReduction.Reducer(stored.width(), stored.height(), factor);
            int rows = reducer.stripRows(target);
            for (int y = 0; y < stored.height(); y += rows) {
                int n = Math.min(rows, stored.height() - y);
                byte[] strip = Arrays.copyOfRange(stored.pixels(), y * stored.width(),
                        (y + n) * stored.width());
                reducer.addRows(strip, n);
            }
            GoldenPreprocessTest.assertSame(c, "reduced", reducer.result().pixels());
        }

        int orientation = ((Double) c.doc.get("orientation")).intValue();
        GrayImage upright = FrameOrientation.apply(reduced, orientation);
        int[] shape = c.shape("oriented");
        assertEquals(shape[1], upright.width(), c + ": width");
        assertEquals(shape[0], upright.height(), c + ": height");
        assertEquals(upright.width(), FrameOrientation.orientedWidth(reduced.width(),
                reduced.height(), orientation));
        GoldenPreprocessTest.assertSame(c, "oriented", upright.pixels());
    }

    @Test
    void factorsAtTheDefaultLimit() {
        Golden.Case c = Golden.load("reduce_factors");
        assertEquals(FrameReduction.MAX_FRAME_PIXELS, ((Double) c.doc.get("max_pixels")).longValue());
        List<?> sizes = (List<?>) c.doc.get("sizes");
        assertFalse(sizes.isEmpty());
        for (Object o : sizes) {
            List<?> s = (List<?>) o;
            int w = ((Double) s.get(0)).intValue();
            int h = ((Double) s.get(1)).intValue();
            assertEquals(((Double) s.get(2)).intValue(), FrameReduction.factor(w, h),
                    w + "x" + h);
        }
    }
}

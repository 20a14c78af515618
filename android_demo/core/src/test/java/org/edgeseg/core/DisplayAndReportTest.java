package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Overlay styles (display choices around the contract's overlay) and the parity summary. */
class DisplayAndReportTest {
    private static final List<ClassSpec> NERVE =
            ModelMetadata.fromJson(Golden.text("/golden/post_131x97_default/metadata.json")).classes();

    private static ClassMasks square(int w, int h, int x0, int y0, int side) {
        byte[] plane = new byte[w * h];
        for (int y = y0; y < y0 + side; y++) {
            for (int x = x0; x < x0 + side; x++) {
                plane[y * w + x] = 1;
            }
        }
        return ClassMasks.fromPlanes(w, h, new byte[][] {plane});
    }

    @Test
    void contractStyleIsTheContractOverlay() {
        GrayImage frame = new GrayImage(8, 6, new byte[48]);
        ClassMasks masks = square(8, 6, 1, 1, 4);
        assertArrayEquals(Overlay.argb(frame, masks, NERVE),
                OverlayStyle.CONTRACT.argb(frame, masks, NERVE));
        assertArrayEquals(Overlay.argb(frame, masks, NERVE),
                new OverlayStyle(Overlay.ALPHA, false).argb(frame, masks, NERVE));
    }

    @Test
    void opacityAndOutline() {
        GrayImage frame = new GrayImage(8, 6, new byte[48]);
        ClassMasks masks = square(8, 6, 1, 1, 4);
        int[] opaque = OverlayStyle.of(1.0, false).argb(frame, masks, NERVE);
        ClassSpec nerve = NERVE.get(0);
        int colour = 0xFF000000 | nerve.red() << 16 | nerve.green() << 8 | nerve.blue();
        assertEquals(colour, opaque[2 * 8 + 2]);
        assertEquals(0xFF000000, opaque[0]);
        int[] none = OverlayStyle.of(0.0, false).argb(frame, masks, NERVE);
        assertEquals(0xFF000000, none[2 * 8 + 2]);
        int[] outline = OverlayStyle.of(1.0, true).argb(frame, masks, NERVE);
        assertEquals(colour, outline[1 * 8 + 1]); // corner of the square: border
        assertEquals(colour, outline[4 * 8 + 2]); // bottom edge
        assertEquals(0xFF000000, outline[2 * 8 + 2]); // inside: not painted
        assertNotEquals(outline[2 * 8 + 2], opaque[2 * 8 + 2]);
        assertThrows(IllegalArgumentException.class, () -> OverlayStyle.of(1.5, false));
        assertThrows(IllegalArgumentException.class, () -> new OverlayStyle(300, false));
    }

    @Test
    void paritySummaryReadsTheVerdict() {
        String newer = "{\"schema\": \"edgeseg.parity/1\", \"frames\": 40, \"candidate\": \"int8\","
                + " \"credit\": \"c\", \"verdict\": {\"outcome\": \"INCONCLUSIVE\", \"passed\": false,"
                + " \"reasons\": [\"too few frames\"]}}";
        ParitySummary s = ParitySummary.fromJson(newer);
        assertEquals("INCONCLUSIVE", s.verdict());
        assertEquals(40, s.frames());
        assertEquals(Collections.singletonList("too few frames"), s.reasons());
        String older = "{\"schema\": \"edgeseg.parity/1\", \"verdict\": {\"passed\": true}}";
        assertEquals("PASS", ParitySummary.fromJson(older).verdict());
        assertThrows(IllegalArgumentException.class,
                () -> ParitySummary.fromJson("{\"schema\": \"other\"}"));
    }

    @Test
    void theBundledParityReportParses() throws Exception {
        Path report = Paths.get(System.getProperty("edgeseg.assets", "../app/src/main/assets"),
                "parity", "report.json");
        Assumptions.assumeTrue(Files.isRegularFile(report), "no bundled parity report");
        ParitySummary s = ParitySummary.fromJson(
                new String(Files.readAllBytes(report), StandardCharsets.UTF_8));
        assertTrue(s.frames() > 0);
        assertTrue(List.of("PASS", "FAIL", "INCONCLUSIVE").contains(s.verdict()), s.verdict());
    }
}

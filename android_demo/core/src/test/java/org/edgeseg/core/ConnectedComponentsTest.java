package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Table-driven, all-empty cases included (as edgeseg.postprocess's tests). */
class ConnectedComponentsTest {

    /** Rows of '#' (foreground) and '.' to a plane. */
    private static byte[] plane(String... rows) {
        byte[] out = new byte[rows.length * rows[0].length()];
        for (int y = 0; y < rows.length; y++) {
            for (int x = 0; x < rows[y].length(); x++) {
                out[y * rows[0].length() + x] = (byte) (rows[y].charAt(x) == '#' ? 1 : 0);
            }
        }
        return out;
    }

    static Stream<Arguments> components() {
        return Stream.of(
                Arguments.of(new String[] {"....", "...."}, new int[] {}),
                Arguments.of(new String[] {"#"}, new int[] {1}),
                Arguments.of(new String[] {"#..", ".#.", "..#"}, new int[] {3}), // diagonal: one
                Arguments.of(new String[] {"..#", ".#.", "#.."}, new int[] {3}), // anti-diagonal
                Arguments.of(new String[] {"#.#", "...", "#.#"}, new int[] {1, 1, 1, 1}),
                Arguments.of(new String[] {"##..#", "....#", "###.#"}, new int[] {2, 3, 3}),
                // U shape: first pixel at top-left, the right arm joins it lower down
                Arguments.of(new String[] {"#..#", "#..#", "####"}, new int[] {8}));
    }

    @ParameterizedTest
    @MethodSource("components")
    void sizesInRasterOrderOfFirstPixel(String[] rows, int[] sizes) {
        ConnectedComponents cc = ConnectedComponents.label(plane(rows), rows[0].length(), rows.length);
        assertArrayEquals(sizes, cc.sizes());
        assertEquals(sizes.length, cc.count());
    }

    static Stream<Arguments> filters() {
        return Stream.of(
                // rows, minArea, after removeSmall, after largest
                Arguments.of(new String[] {"...", "..."}, 5, new String[] {"...", "..."}, new String[] {"...", "..."}),
                Arguments.of(new String[] {"#.##", "..##"}, 0, new String[] {"#.##", "..##"}, new String[] {"..##", "..##"}),
                Arguments.of(new String[] {"#.##", "..##"}, 1, new String[] {"#.##", "..##"}, new String[] {"..##", "..##"}),
                Arguments.of(new String[] {"#.##", "..##"}, 2, new String[] {"..##", "..##"}, new String[] {"..##", "..##"}),
                Arguments.of(new String[] {"#.##", "..##"}, 5, new String[] {"....", "...."}, new String[] {"....", "...."}),
                // tie of two 2-pixel components: the first in raster order wins
                Arguments.of(new String[] {"...##", "##..."}, 2, new String[] {"...##", "##..."}, new String[] {"...##", "....."}));
    }

    @ParameterizedTest
    @MethodSource("filters")
    void removeSmallThenLargest(String[] rows, int minArea, String[] small, String[] largest) {
        int w = rows[0].length();
        int h = rows.length;
        byte[] afterSmall = ConnectedComponents.removeSmall(plane(rows), w, h, minArea);
        assertArrayEquals(plane(small), afterSmall);
        assertArrayEquals(plane(largest), ConnectedComponents.largest(afterSmall, w, h));
    }
}

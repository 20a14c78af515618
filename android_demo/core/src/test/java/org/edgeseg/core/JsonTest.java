package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    static Stream<Arguments> values() {
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("a", Arrays.asList(1.0, -2.5, 3e2));
        nested.put("b", null);
        return Stream.of(
                Arguments.of("0", 0.0),
                Arguments.of("-0.5", -0.5),
                Arguments.of("1E-3", 0.001),
                Arguments.of("0.00392156862745098", 1.0 / 255.0),
                Arguments.of("true", true),
                Arguments.of(" false ", false),
                Arguments.of("null", null),
                Arguments.of("\"\"", ""),
                Arguments.of("\"a\\u00e9\\ud83d\\ude00\\n\"", "a\u00e9\ud83d\ude00\n"),
                Arguments.of("\"\u00e9 raw utf-8\"", "\u00e9 raw utf-8"),
                Arguments.of("[]", Collections.emptyList()),
                Arguments.of("{}", Collections.emptyMap()),
                Arguments.of("{\"a\": [1, -2.5, 3e2], \"b\": null}", nested));
    }

    @ParameterizedTest
    @MethodSource("values")
    void parses(String text, Object expected) {
        assertEquals(expected, Json.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.",
        "-", ".5", "1e", "NaN", "Infinity", "tru", "\"unterminated", "\"bad \\x escape\"",
        "\"\\u12\"", "[1] 2", "{\"a\":1,\"a\":2}", "\"tab\there\"", "// comment\n1"})
    void rejects(String text) {
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().startsWith("invalid JSON at offset"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {63, 64})
    void nestingLimit(int depth) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            sb.append('[');
        }
        for (int i = 0; i < depth; i++) {
            sb.append(']');
        }
        Json.parse(sb.toString()); // 64 deep is the limit and allowed
        sb.insert(0, '[').append(']');
        if (depth == 64) {
            assertThrows(Json.JsonException.class, () -> Json.parse(sb.toString()));
        }
    }
}

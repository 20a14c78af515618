package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ModelMetadataTest {
    private static final String MINIMAL = "{\"schema\": \"edgeseg.metadata/1\","
            + " \"input\": {\"height\": 96, \"width\": 128, \"scale\": 0.00392156862745098},"
            + " \"classes\": [{\"name\": \"nerve\", \"value\": 1}]}";

    @Test
    void contractDefaultsWhenOptionalFieldsAreAbsent() {
        ModelMetadata md = ModelMetadata.fromJson(MINIMAL);
        assertEquals(96, md.inputHeight());
        assertEquals(128, md.inputWidth());
        assertEquals("percentile", md.preprocessing().normalize());
        assertEquals(1.0, md.preprocessing().lowPercentile());
        assertEquals(99.0, md.preprocessing().highPercentile());
        assertFalse(md.preprocessing().clahe());
        assertEquals("none", md.preprocessing().denoise());
        assertEquals(0.5, md.postprocess().threshold());
        assertEquals(0, md.postprocess().minArea());
        assertFalse(md.postprocess().presenceGate());
        assertFalse(md.presenceOutput());
        assertEquals(0xFFDC00, md.classes().get(0).rgb(), "nerve defaults to the contract's yellow");
    }

    @Test
    void thresholdOverrideKeepsTheRest() {
        PostprocessSpec p = new PostprocessSpec(0.5, 7, true, 0.4, true).withThreshold(0.3);
        assertEquals(0.3, p.threshold());
        assertEquals(7, p.minArea());
        assertTrue(p.largestComponent());
        assertEquals(0.4, p.presenceThreshold());
        assertTrue(p.presenceGate());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("[]", "JSON object"),
                Arguments.of("{", "not valid JSON"),
                Arguments.of(MINIMAL.replace("edgeseg.metadata/1", "other/1"), "not an edgeseg schema"),
                Arguments.of(MINIMAL.replace("edgeseg.metadata/1", "edgeseg.metadata/2"), "not supported"),
                Arguments.of(MINIMAL.replace("\"height\": 96", "\"height\": 96.5"), "input.height must be an integer"),
                Arguments.of(MINIMAL.replace("\"width\": 128,", ""), "input.width must be a number"),
                Arguments.of(MINIMAL.replace("\"scale\": 0.00392156862745098", "\"scale\": 0"), "input.scale"),
                Arguments.of(MINIMAL.replace("\"scale\"", "\"channels\": 3, \"scale\""), "input.channels=3"),
                Arguments.of(MINIMAL.replace("[{\"name\": \"nerve\", \"value\": 1}]", "[]"), "non-empty"),
                Arguments.of(MINIMAL.replace("\"value\": 1", "\"value\": 1, \"color\": [1, 2]"), "color must be"),
                Arguments.of(MINIMAL.replace("\"value\": 1", "\"value\": 1, \"color\": [1, 2, 256]"), "color must be"),
                Arguments.of(MINIMAL.replace("\"classes\"", "\"preprocessing\": {\"normalize\": \"zscore\"}, \"classes\""),
                        "preprocessing.normalize='zscore' is not one of"),
                Arguments.of(MINIMAL.replace("\"classes\"", "\"preprocessing\": {\"percentiles\": [1]}, \"classes\""),
                        "percentiles must be two numbers"),
                Arguments.of(MINIMAL.replace("\"classes\"", "\"postprocess\": {\"presence_gate\": 1}, \"classes\""),
                        "postprocess.presence_gate must be true or false"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidMetadataSaysWhatIsWrong(String json, String fragment) {
        MetadataException e = assertThrows(MetadataException.class, () -> ModelMetadata.fromJson(json));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    static Stream<Arguments> unsupported() {
        return Stream.of(
                Arguments.of("{\"clahe\": true}", "clahe=true"),
                Arguments.of("{\"denoise\": \"median\"}", "denoise='median'"),
                Arguments.of("{\"denoise\": \"gaussian\"}", "denoise='gaussian'"),
                Arguments.of("{\"normalize\": \"equalize\"}", "normalize='equalize'"));
    }

    @ParameterizedTest
    @MethodSource("unsupported")
    void unsupportedPreprocessingIsRefusedUpFront(String pp, String fragment) {
        ModelMetadata md = ModelMetadata.fromJson(
                MINIMAL.replace("\"classes\"", "\"preprocessing\": " + pp + ", \"classes\""));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> new Preprocessor(md.preprocessing()));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}

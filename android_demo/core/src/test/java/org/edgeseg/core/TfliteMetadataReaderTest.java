package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The hand-written flatbuffer reader against fixtures packed by the official Python schema. */
class TfliteMetadataReaderTest {
    private static final Golden.Case CASE = Golden.load("flatbuffer_metadata");

    private static byte[] model(String variant) {
        return CASE.bytes("model_" + variant);
    }

    @ParameterizedTest
    @ValueSource(strings = {"inline", "offset"})
    void readsEdgesegEntry(String variant) {
        ByteBuffer buf = ByteBuffer.wrap(model(variant));
        assertEquals(CASE.metadataText(), TfliteMetadataReader.readEdgesegJson(buf));
        Map<String, byte[]> all = TfliteMetadataReader.readAll(buf);
        assertEquals(Arrays.asList("min_runtime_version", "edgeseg"),
                Arrays.asList(all.keySet().toArray()));
        assertArrayEquals("1.5.0".getBytes(StandardCharsets.US_ASCII), all.get("min_runtime_version"));
        assertEquals(0, buf.position(), "reader must not move the buffer");
    }

    @ParameterizedTest
    @ValueSource(strings = {"inline", "offset"})
    void parsesMetadataFromModel(String variant) {
        ModelMetadata md = ModelMetadata.fromModel(ByteBuffer.wrap(model(variant)));
        assertEquals(128, md.inputHeight());
        assertEquals(128, md.inputWidth());
        assertEquals(1.0 / 255.0, md.inputScale(), 0.0);
        assertEquals("percentile", md.preprocessing().normalize());
        assertEquals(2, md.classes().size());
        assertEquals("vessel", md.classes().get(1).name());
        assertEquals(0xE62828, md.classes().get(1).rgb());
        assertTrue(md.presenceOutput());
    }

    @Test
    void unicodeAndEscapesSurvive() {
        Map<String, Object> root = Json.parseObject(
                TfliteMetadataReader.readEdgesegJson(ByteBuffer.wrap(model("inline"))));
        assertEquals("unicode \u00e9\u2713 and escapes \" \\ / \t survive the round trip", root.get("note"));
    }

    @Test
    void worksOnASliceAtAnOffset() {
        byte[] m = model("offset");
        byte[] bigger = new byte[m.length + 37];
        System.arraycopy(m, 0, bigger, 16, m.length);
        ByteBuffer slice = ByteBuffer.wrap(bigger, 16, m.length).slice();
        assertEquals(CASE.metadataText(), TfliteMetadataReader.readEdgesegJson(slice));
    }

    @Test
    void modelWithoutEdgesegEntry() {
        ByteBuffer buf = ByteBuffer.wrap(model("no_edgeseg"));
        assertNull(TfliteMetadataReader.readEdgesegJson(buf));
        MetadataException e = assertThrows(MetadataException.class, () -> ModelMetadata.fromModel(buf));
        assertTrue(e.getMessage().contains("no 'edgeseg' metadata"), e.getMessage());
    }

    @Test
    void wrongIdentifierIsNotATfliteModel() {
        byte[] m = model("inline");
        m[4] = 'X';
        MetadataException e = assertThrows(MetadataException.class,
                () -> TfliteMetadataReader.readAll(ByteBuffer.wrap(m)));
        assertTrue(e.getMessage().contains("file identifier 'XFL3'"), e.getMessage());
    }

    @Test
    void tinyFile() {
        assertThrows(MetadataException.class,
                () -> TfliteMetadataReader.readAll(ByteBuffer.wrap(new byte[] {1, 2, 3})));
    }

    @ParameterizedTest
    @ValueSource(ints = {12, 40, 200, 600, 1000})
    void truncatedFileFailsCleanly(int keep) {
        // Every truncation either still finds the (unaffected) entries or fails with
        // MetadataException: never an IndexOutOfBoundsException.
        byte[] m = Arrays.copyOf(model("offset"), keep);
        assertThrows(MetadataException.class, () -> TfliteMetadataReader.readAll(ByteBuffer.wrap(m)));
    }

    @Test
    void outOfLineBufferPastEndOfFile() {
        byte[] m = model("offset");
        byte[] cut = Arrays.copyOf(m, m.length - 10); // payload truncated, flatbuffer intact
        MetadataException e = assertThrows(MetadataException.class,
                () -> TfliteMetadataReader.readAll(ByteBuffer.wrap(cut)));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
    }
}

package org.edgeseg.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the {@code Model.metadata} entries of a {@code .tflite} flatbuffer, by hand.
 *
 * <p>Only the few tables on the path to the metadata are touched (field ids from the TFLite
 * schema): {@code Model} (version=0, operator_codes=1, subgraphs=2, description=3, buffers=4,
 * metadata_buffer=5, metadata=6, signature_defs=7), {@code Metadata} (name=0, buffer=1) and
 * {@code Buffer} (data=0, offset=1, size=2). A buffer whose {@code data} is empty and whose
 * {@code offset} is above 1 lives outside the flatbuffer at that absolute file offset (the
 * schema's layout for models over 2 GB; 0 and 1 mean "no external data").
 *
 * <p>All reads are absolute and bounds-checked: a truncated or corrupt file gives a
 * {@link MetadataException}, never an {@code IndexOutOfBoundsException}. The buffer's position
 * and limit are not changed; byte 0 of the file must be at index 0 (a mapped file,
 * {@code ByteBuffer.wrap(bytes)} or a {@code slice()}), and the limit marks its end.
 */
public final class TfliteMetadataReader {
    /** The name of the entry that carries the edgeseg JSON. */
    public static final String EDGESEG_KEY = "edgeseg";

    private static final String FILE_IDENTIFIER = "TFL3";
    private static final int MODEL_BUFFERS = 4;
    private static final int MODEL_METADATA = 6;
    private static final int METADATA_NAME = 0;
    private static final int METADATA_BUFFER = 1;
    private static final int BUFFER_DATA = 0;
    private static final int BUFFER_OFFSET = 1;
    private static final int BUFFER_SIZE = 2;

    private final ByteBuffer buf;
    private final int size;

    private TfliteMetadataReader(ByteBuffer model) {
        // Absolute reads on a little-endian duplicate: index 0 is the first byte of the file.
        this.buf = model.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.size = model.limit();
    }

    /** All metadata entries, name to bytes, in file order. */
    public static Map<String, byte[]> readAll(ByteBuffer model) {
        return new TfliteMetadataReader(model).entries();
    }

    /** The bytes of the named metadata entry, or {@code null} if the model has none. */
    public static byte[] read(ByteBuffer model, String name) {
        return readAll(model).get(name);
    }

    /** The edgeseg JSON text, or {@code null} if the model carries no edgeseg entry. */
    public static String readEdgesegJson(ByteBuffer model) {
        byte[] raw = read(model, EDGESEG_KEY);
        return raw == null ? null : new String(raw, StandardCharsets.UTF_8);
    }

    private Map<String, byte[]> entries() {
        if (size < 8) {
            throw new MetadataException("not a TFLite model: only " + size + " bytes");
        }
        String ident = new String(new byte[] {buf.get(4), buf.get(5), buf.get(6), buf.get(7)},
                StandardCharsets.ISO_8859_1);
        if (!FILE_IDENTIFIER.equals(ident)) {
            throw new MetadataException("not a TFLite model: file identifier '" + printable(ident)
                    + "', expected '" + FILE_IDENTIFIER + "'");
        }
        int model = uoffsetTarget(0);
        Map<String, byte[]> out = new LinkedHashMap<>();
        int metadata = vectorField(model, MODEL_METADATA);
        if (metadata < 0) {
            return out;
        }
        int buffers = vectorField(model, MODEL_BUFFERS);
        int nBuffers = buffers < 0 ? 0 : vectorLength(buffers);
        int nMeta = vectorLength(metadata);
        for (int i = 0; i < nMeta; i++) {
            int entry = uoffsetTarget(metadata + 4 + 4 * i);
            int nameVec = vectorField(entry, METADATA_NAME);
            String name = nameVec < 0 ? "" : new String(vectorBytes(nameVec, 1), StandardCharsets.UTF_8);
            long bufferIndex = scalarU32(entry, METADATA_BUFFER);
            if (bufferIndex >= nBuffers) {
                throw new MetadataException("metadata entry '" + name + "' points at buffer "
                        + bufferIndex + " but the model has " + nBuffers + " buffers");
            }
            int buffer = uoffsetTarget(buffers + 4 + 4 * (int) bufferIndex);
            out.put(name, bufferData(buffer));
        }
        return out;
    }

    private byte[] bufferData(int buffer) {
        int data = vectorField(buffer, BUFFER_DATA);
        if (data >= 0 && vectorLength(data) > 0) {
            return vectorBytes(data, 1);
        }
        long offset = scalarU64(buffer, BUFFER_OFFSET);
        long length = scalarU64(buffer, BUFFER_SIZE);
        if (offset <= 1) {
            return new byte[0];
        }
        if (offset + length > size || length > Integer.MAX_VALUE) {
            throw new MetadataException("buffer data at offset " + offset + " (" + length
                    + " bytes) lies outside the " + size + "-byte file: truncated model?");
        }
        byte[] out = new byte[(int) length];
        for (int i = 0; i < out.length; i++) {
            out[i] = buf.get((int) offset + i);
        }
        return out;
    }

    /** Position of the field's value inside the table, or -1 when the field is absent. */
    private int fieldPos(int table, int fieldId) {
        check(table, 4);
        int vtable = table - buf.getInt(table);
        check(vtable, 4);
        int vtableSize = buf.getShort(vtable) & 0xFFFF;
        int entry = 4 + 2 * fieldId;
        if (entry + 2 > vtableSize) {
            return -1;
        }
        check(vtable + entry, 2);
        int fieldOffset = buf.getShort(vtable + entry) & 0xFFFF;
        return fieldOffset == 0 ? -1 : table + fieldOffset;
    }

    /** Start (the length word) of a vector field, or -1 when absent. */
    private int vectorField(int table, int fieldId) {
        int pos = fieldPos(table, fieldId);
        return pos < 0 ? -1 : uoffsetTarget(pos);
    }

    private long scalarU32(int table, int fieldId) {
        int pos = fieldPos(table, fieldId);
        if (pos < 0) {
            return 0;
        }
        check(pos, 4);
        return buf.getInt(pos) & 0xFFFFFFFFL;
    }

    private long scalarU64(int table, int fieldId) {
        int pos = fieldPos(table, fieldId);
        if (pos < 0) {
            return 0;
        }
        check(pos, 8);
        long v = buf.getLong(pos);
        if (v < 0) {
            throw new MetadataException("buffer offset/size above 2^63 at " + pos
                    + ": corrupt model");
        }
        return v;
    }

    private int uoffsetTarget(int pos) {
        check(pos, 4);
        long target = pos + (buf.getInt(pos) & 0xFFFFFFFFL);
        if (target >= size) {
            throw new MetadataException("corrupt flatbuffer: offset at " + pos + " points to "
                    + target + ", past the end of the " + size + "-byte file");
        }
        return (int) target;
    }

    private int vectorLength(int vec) {
        check(vec, 4);
        long n = buf.getInt(vec) & 0xFFFFFFFFL;
        if (vec + 4 + n > size) {
            throw new MetadataException("corrupt flatbuffer: vector at " + vec + " claims " + n
                    + " elements, past the end of the " + size + "-byte file");
        }
        return (int) n;
    }

    private byte[] vectorBytes(int vec, int elementSize) {
        int n = vectorLength(vec);
        check(vec + 4, n * elementSize);
        byte[] out = new byte[n * elementSize];
        for (int i = 0; i < out.length; i++) {
            out[i] = buf.get(vec + 4 + i);
        }
        return out;
    }

    private void check(int pos, int length) {
        if (pos < 0 || length < 0 || (long) pos + length > size) {
            throw new MetadataException("corrupt flatbuffer: read of " + length + " bytes at "
                    + pos + " outside the " + size + "-byte file (truncated model?)");
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return sb.toString();
    }
}

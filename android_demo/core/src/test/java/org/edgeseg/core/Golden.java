package org.edgeseg.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Reads the golden vectors written by android_demo/tools/make_golden.py from the test
 * classpath ({@code /golden/index.json}, {@code /golden/<case>/case.json} and its arrays).
 */
final class Golden {
    static final String FORMAT = "edgeseg.golden/1";

    private Golden() {}

    /** Names of all cases in the index, optionally only those of the given kinds. */
    static List<String> cases(String... kinds) {
        Map<String, Object> index = Json.parseObject(text("/golden/index.json"));
        if (!FORMAT.equals(index.get("format"))) {
            throw new IllegalStateException("golden index format " + index.get("format")
                    + ", expected " + FORMAT + ": regenerate with make_golden.py");
        }
        List<String> out = new ArrayList<>();
        for (Object name : (List<?>) index.get("cases")) {
            Case c = load((String) name);
            for (String k : kinds) {
                if (k.equals(c.kind())) {
                    out.add((String) name);
                }
            }
        }
        return out;
    }

    static Case load(String name) {
        return new Case(name, Json.parseObject(text("/golden/" + name + "/case.json")));
    }

    static String text(String resource) {
        return new String(bytes(resource), StandardCharsets.UTF_8);
    }

    static byte[] bytes(String resource) {
        try (InputStream in = Golden.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource
                        + ": run android_demo/tools/make_golden.py --no-model");
            }
            InputStream src = resource.endsWith(".gz") ? new GZIPInputStream(in) : in;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            src.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(byte[] data) {
        try {
            StringBuilder sb = new StringBuilder();
            for (byte b : MessageDigest.getInstance("SHA-256").digest(data)) {
                sb.append(String.format("%02x", b & 0xFF));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Index and values of the first differing element, for readable failures. */
    static String firstDifference(byte[] expected, byte[] actual, int[] shape) {
        if (expected.length != actual.length) {
            return "length " + actual.length + " != expected " + expected.length;
        }
        int diffs = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                diffs++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (first < 0) {
            return null;
        }
        StringBuilder where = new StringBuilder();
        int rem = first;
        for (int d = shape.length - 1; d >= 0; d--) {
            where.insert(0, (d > 0 ? ", " : "") + rem % shape[d]);
            rem /= shape[d];
        }
        return diffs + " of " + expected.length + " bytes differ; first at flat " + first + " ["
                + where + "]: expected " + (expected[first] & 0xFF) + ", got " + (actual[first] & 0xFF);
    }

    /** One case directory. */
    static final class Case {
        final String name;
        final Map<String, Object> doc;

        Case(String name, Map<String, Object> doc) {
            this.name = name;
            this.doc = doc;
        }

        String kind() {
            return (String) doc.get("kind");
        }

        boolean has(String key) {
            return doc.containsKey(key);
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> entry(String key) {
            Object v = doc.get(key);
            if (!(v instanceof Map)) {
                throw new IllegalStateException(name + ": no array '" + key + "' in case.json");
            }
            return (Map<String, Object>) v;
        }

        byte[] bytes(String key) {
            return Golden.bytes("/golden/" + name + "/" + entry(key).get("file"));
        }

        /** Raw bytes as a little-endian buffer (position 0). */
        ByteBuffer buffer(String key) {
            return ByteBuffer.wrap(bytes(key)).order(ByteOrder.LITTLE_ENDIAN);
        }

        int[] shape(String key) {
            List<?> s = (List<?>) entry(key).get("shape");
            int[] out = new int[s.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Double) s.get(i)).intValue();
            }
            return out;
        }

        String dtype(String key) {
            return (String) entry(key).get("dtype");
        }

        String sha256(String key) {
            return (String) entry(key).get("sha256");
        }

        /** A tensor spec from a tensor entry: dtype, shape, scale, zero point. */
        TensorSpec tensor(String key) {
            Map<String, Object> e = entry(key);
            float scale = ((Double) e.get("scale")).floatValue();
            int zeroPoint = ((Double) e.get("zero_point")).intValue();
            return new TensorSpec(key, TensorSpec.Type.parse(dtype(key)), shape(key), scale,
                    zeroPoint);
        }

        /** A 2-D uint8 array entry as an image (shape [H, W]). */
        GrayImage image(String key) {
            int[] s = shape(key);
            return new GrayImage(s[1], s[0], bytes(key));
        }

        String metadataText() {
            return Golden.text("/golden/" + name + "/" + doc.get("metadata"));
        }

        ModelMetadata metadata() {
            return ModelMetadata.fromJson(metadataText());
        }

        @Override
        public String toString() {
            return name;
        }
    }
}

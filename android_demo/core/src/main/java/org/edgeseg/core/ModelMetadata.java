package org.edgeseg.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The edgeseg metadata embedded in a {@code .tflite} (runtime contract, section 5).
 *
 * <p>This is the only source of preprocessing constants on the device: input size, pixel scale,
 * normalisation, classes and post-processing all come from here, never from app code. Fields the
 * contract documents with a default (e.g. {@code percentiles = [1, 99]}) fall back to that
 * default when absent; the input size, pixel scale and classes are required.
 */
public final class ModelMetadata {
    /** The schema family this reader understands (major version 1). */
    public static final String SCHEMA_PREFIX = "edgeseg.metadata/";
    public static final int SCHEMA_MAJOR = 1;

    private static final int NERVE_RGB = 0xFFDC00; // [255, 220, 0]
    private static final int VESSEL_RGB = 0xE62828; // [230, 40, 40]
    private static final int[] FALLBACK_RGB = {0x00C8FF, 0x50DC50, 0xDC50DC, 0xFF8C00};

    private final String schema;
    private final String edgesegVersion;
    private final String configSha256;
    private final String arch;
    private final String quantization;
    private final int inputChannels;
    private final double inputScale;
    private final PreprocessingSpec preprocessing;
    private final List<ClassSpec> classes;
    private final PostprocessSpec postprocess;
    private final boolean presenceOutput;
    private final String json;

    private ModelMetadata(Map<String, Object> root, String json) {
        this.json = json;
        this.schema = requireString(root, "schema", "");
        checkSchema(schema);
        this.edgesegVersion = optString(root, "edgeseg_version", "", "");
        this.configSha256 = optString(root, "config_sha256", "", "");
        this.arch = optString(root, "arch", "", "");
        this.quantization = optString(root, "quantization", "", "");

        Map<String, Object> input = requireObject(root, "input", "");
        int height = requireInt(input, "height", "input.");
        int width = requireInt(input, "width", "input.");
        if (height < 1 || width < 1) {
            throw new MetadataException("metadata input size " + height + "x" + width
                    + " is not positive: re-export the model");
        }
        this.inputChannels = optInt(input, "channels", 1, "input.");
        if (inputChannels != 1) {
            throw new MetadataException("metadata input.channels=" + inputChannels
                    + ": the Android core feeds one gray channel; re-export a 1-channel model");
        }
        this.inputScale = requireNumber(input, "scale", "input.");
        if (!(inputScale > 0) || Double.isInfinite(inputScale)) {
            throw new MetadataException("metadata input.scale=" + inputScale
                    + " must be a positive number (the float value of one pixel step, e.g. 1/255)");
        }

        Map<String, Object> pp = optObject(root, "preprocessing", "");
        String normalize = optString(pp, "normalize", "percentile", "preprocessing.");
        checkOneOf("preprocessing.normalize", normalize, "none", "percentile", "equalize");
        double low = 1.0;
        double high = 99.0;
        Object pct = pp.get("percentiles");
        if (pct != null) {
            if (!(pct instanceof List) || ((List<?>) pct).size() != 2
                    || !(((List<?>) pct).get(0) instanceof Double)
                    || !(((List<?>) pct).get(1) instanceof Double)) {
                throw new MetadataException("metadata preprocessing.percentiles must be two numbers"
                        + " [low, high], got " + pct);
            }
            low = (Double) ((List<?>) pct).get(0);
            high = (Double) ((List<?>) pct).get(1);
        }
        boolean clahe = optBool(pp, "clahe", false, "preprocessing.");
        String denoise = optString(pp, "denoise", "none", "preprocessing.");
        checkOneOf("preprocessing.denoise", denoise, "none", "median", "gaussian");
        this.preprocessing = new PreprocessingSpec(height, width, normalize, low, high, clahe,
                denoise);

        Object rawClasses = root.get("classes");
        if (!(rawClasses instanceof List) || ((List<?>) rawClasses).isEmpty()) {
            throw new MetadataException("metadata 'classes' must be a non-empty list of "
                    + "{name, value, color}, got " + Json.typeName(rawClasses));
        }
        List<ClassSpec> cls = new ArrayList<>();
        int i = 0;
        for (Object o : (List<?>) rawClasses) {
            String where = "classes[" + i + "].";
            if (!(o instanceof Map)) {
                throw new MetadataException("metadata " + where.substring(0, where.length() - 1)
                        + " must be an object, got " + Json.typeName(o));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> c = (Map<String, Object>) o;
            String name = requireString(c, "name", where);
            int value = optInt(c, "value", i + 1, where);
            int rgb = c.containsKey("color") ? color(c.get("color"), where) : defaultColor(name, i);
            cls.add(new ClassSpec(name, value, rgb));
            i++;
        }
        this.classes = Collections.unmodifiableList(cls);

        Map<String, Object> post = optObject(root, "postprocess", "");
        this.postprocess = new PostprocessSpec(
                optNumber(post, "threshold", 0.5, "postprocess."),
                optInt(post, "min_area", 0, "postprocess."),
                optBool(post, "largest_component", false, "postprocess."),
                optNumber(post, "presence_threshold", 0.5, "postprocess."),
                optBool(post, "presence_gate", false, "postprocess."));
        this.presenceOutput = optBool(root, "presence_output", false, "");
    }

    /** Parses the edgeseg entry of a {@code .tflite} held in {@code model} (index 0 = byte 0). */
    public static ModelMetadata fromModel(ByteBuffer model) {
        String text = TfliteMetadataReader.readEdgesegJson(model);
        if (text == null) {
            throw new MetadataException("the model has no '" + TfliteMetadataReader.EDGESEG_KEY
                    + "' metadata entry: export it with the edgeseg converter, which embeds the "
                    + "preprocessing the app needs");
        }
        return fromJson(text);
    }

    /** Parses the metadata JSON object itself. */
    public static ModelMetadata fromJson(String json) {
        Map<String, Object> root;
        try {
            root = Json.parseObject(json);
        } catch (Json.JsonException e) {
            throw new MetadataException("edgeseg metadata is not valid JSON: " + e.getMessage(), e);
        }
        return new ModelMetadata(root, json);
    }

    public String schema() {
        return schema;
    }

    public String edgesegVersion() {
        return edgesegVersion;
    }

    public String configSha256() {
        return configSha256;
    }

    public String arch() {
        return arch;
    }

    public String quantization() {
        return quantization;
    }

    public int inputHeight() {
        return preprocessing.height();
    }

    public int inputWidth() {
        return preprocessing.width();
    }

    public int inputChannels() {
        return inputChannels;
    }

    /** The float value of one pixel step: the network sees {@code pixel * scale}. */
    public double inputScale() {
        return inputScale;
    }

    public PreprocessingSpec preprocessing() {
        return preprocessing;
    }

    /** Classes in output-channel order. */
    public List<ClassSpec> classes() {
        return classes;
    }

    public PostprocessSpec postprocess() {
        return postprocess;
    }

    /** Whether the model has a {@code [1, 1]} presence-score output. */
    public boolean presenceOutput() {
        return presenceOutput;
    }

    /** The JSON text as embedded in the model. */
    public String json() {
        return json;
    }

    private static void checkSchema(String schema) {
        if (!schema.startsWith(SCHEMA_PREFIX)) {
            throw new MetadataException("metadata schema '" + schema + "' is not an edgeseg schema ("
                    + SCHEMA_PREFIX + SCHEMA_MAJOR + " expected): re-export the model with edgeseg");
        }
        String version = schema.substring(SCHEMA_PREFIX.length());
        String major = version.contains(".") ? version.substring(0, version.indexOf('.')) : version;
        if (!major.equals(Integer.toString(SCHEMA_MAJOR))) {
            throw new MetadataException("metadata schema '" + schema + "' is not supported by this "
                    + "app (it reads " + SCHEMA_PREFIX + SCHEMA_MAJOR + "): update the app or "
                    + "re-export the model with a matching edgeseg version");
        }
    }

    private static void checkOneOf(String field, String value, String... allowed) {
        for (String a : allowed) {
            if (a.equals(value)) {
                return;
            }
        }
        // A loop, not String.join: the core must run on Android API 24 (String.join is API 26).
        StringBuilder valid = new StringBuilder();
        for (String a : allowed) {
            valid.append(valid.length() == 0 ? "" : ", ").append(a);
        }
        throw new MetadataException("metadata " + field + "='" + value + "' is not one of " + valid);
    }

    private static int color(Object raw, String where) {
        if (raw instanceof List && ((List<?>) raw).size() == 3) {
            int rgb = 0;
            boolean ok = true;
            for (Object o : (List<?>) raw) {
                double d = o instanceof Double ? (Double) o : -1;
                ok &= d == Math.rint(d) && d >= 0 && d <= 255;
                rgb = (rgb << 8) | ((int) d & 0xFF);
            }
            if (ok) {
                return rgb;
            }
        }
        throw new MetadataException("metadata " + where + "color must be [r, g, b] with integers "
                + "0..255, got " + raw);
    }

    private static int defaultColor(String name, int index) {
        if ("nerve".equals(name)) {
            return NERVE_RGB;
        }
        if ("vessel".equals(name)) {
            return VESSEL_RGB;
        }
        return FALLBACK_RGB[index % FALLBACK_RGB.length];
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> requireObject(Map<String, Object> m, String key, String where) {
        Object v = m.get(key);
        if (!(v instanceof Map)) {
            throw new MetadataException("metadata " + where + key + " must be an object, got "
                    + Json.typeName(v));
        }
        return (Map<String, Object>) v;
    }

    private static Map<String, Object> optObject(Map<String, Object> m, String key, String where) {
        return m.containsKey(key) ? requireObject(m, key, where) : Collections.emptyMap();
    }

    private static String requireString(Map<String, Object> m, String key, String where) {
        Object v = m.get(key);
        if (!(v instanceof String)) {
            throw new MetadataException("metadata " + where + key + " must be a string, got "
                    + Json.typeName(v));
        }
        return (String) v;
    }

    private static String optString(Map<String, Object> m, String key, String dflt, String where) {
        return m.containsKey(key) ? requireString(m, key, where) : dflt;
    }

    private static double requireNumber(Map<String, Object> m, String key, String where) {
        Object v = m.get(key);
        if (!(v instanceof Double)) {
            throw new MetadataException("metadata " + where + key + " must be a number, got "
                    + Json.typeName(v));
        }
        return (Double) v;
    }

    private static double optNumber(Map<String, Object> m, String key, double dflt, String where) {
        return m.containsKey(key) ? requireNumber(m, key, where) : dflt;
    }

    private static int requireInt(Map<String, Object> m, String key, String where) {
        double d = requireNumber(m, key, where);
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new MetadataException("metadata " + where + key + " must be an integer, got " + d);
        }
        return (int) d;
    }

    private static int optInt(Map<String, Object> m, String key, int dflt, String where) {
        return m.containsKey(key) ? requireInt(m, key, where) : dflt;
    }

    private static boolean optBool(Map<String, Object> m, String key, boolean dflt, String where) {
        if (!m.containsKey(key)) {
            return dflt;
        }
        Object v = m.get(key);
        if (!(v instanceof Boolean)) {
            throw new MetadataException("metadata " + where + key + " must be true or false, got "
                    + Json.typeName(v));
        }
        return (Boolean) v;
    }
}

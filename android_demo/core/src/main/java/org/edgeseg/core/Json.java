package org.edgeseg.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal recursive-descent JSON parser (RFC 8259), enough for the metadata object.
 *
 * <p>Objects become {@code Map<String, Object>} (insertion order kept), arrays {@code List<Object>},
 * strings {@code String}, numbers {@code Double}, {@code true/false} {@code Boolean} and
 * {@code null} Java {@code null}. NaN/Infinity, comments and trailing commas are rejected.
 */
public final class Json {
    private final String text;
    private int pos;
    private int depth;

    private static final int MAX_DEPTH = 64;

    private Json(String text) {
        this.text = text;
    }

    /** Parses one JSON value; whitespace around it is allowed, anything else is an error. */
    public static Object parse(String text) {
        if (text == null) {
            throw new JsonException("no JSON text (null)", 0);
        }
        Json parser = new Json(text);
        parser.skipWhitespace();
        Object value = parser.readValue();
        parser.skipWhitespace();
        if (parser.pos != text.length()) {
            throw new JsonException("unexpected " + parser.describeHere() + " after the JSON value",
                    parser.pos);
        }
        return value;
    }

    /** Parses text that must be a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (!(value instanceof Map)) {
            throw new JsonException("expected a JSON object, got " + typeName(value), 0);
        }
        return (Map<String, Object>) value;
    }

    /** A short name of a parsed value's JSON type, for error messages. */
    public static String typeName(Object value) {
        if (value == null) {
            return "null";
        } else if (value instanceof Map) {
            return "object";
        } else if (value instanceof List) {
            return "array";
        } else if (value instanceof String) {
            return "string";
        } else if (value instanceof Double) {
            return "number";
        } else if (value instanceof Boolean) {
            return "boolean";
        }
        return value.getClass().getSimpleName();
    }

    private Object readValue() {
        if (pos >= text.length()) {
            throw new JsonException("unexpected end of JSON text", pos);
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return readObject();
            case '[':
                return readArray();
            case '"':
                return readString();
            case 't':
                expectWord("true");
                return Boolean.TRUE;
            case 'f':
                expectWord("false");
                return Boolean.FALSE;
            case 'n':
                expectWord("null");
                return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return readNumber();
                }
                throw new JsonException("unexpected " + describeHere(), pos);
        }
    }

    private Map<String, Object> readObject() {
        enter();
        pos++; // '{'
        Map<String, Object> out = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            depth--;
            return out;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw new JsonException("expected a string key, got " + describeHere(), pos);
            }
            int keyAt = pos;
            String key = readString();
            if (out.containsKey(key)) {
                throw new JsonException("duplicate key \"" + key + "\"", keyAt);
            }
            skipWhitespace();
            expectChar(':');
            skipWhitespace();
            out.put(key, readValue());
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == '}') {
                pos++;
                depth--;
                return out;
            } else {
                throw new JsonException("expected ',' or '}' in object, got " + describeHere(), pos);
            }
        }
    }

    private List<Object> readArray() {
        enter();
        pos++; // '['
        List<Object> out = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            depth--;
            return Collections.unmodifiableList(out);
        }
        while (true) {
            skipWhitespace();
            out.add(readValue());
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == ']') {
                pos++;
                depth--;
                return Collections.unmodifiableList(out);
            } else {
                throw new JsonException("expected ',' or ']' in array, got " + describeHere(), pos);
            }
        }
    }

    private String readString() {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw new JsonException("unterminated string", pos);
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return sb.toString();
            }
            if (c == '\\') {
                if (pos >= text.length()) {
                    throw new JsonException("unterminated escape in string", pos);
                }
                char e = text.charAt(pos++);
                switch (e) {
                    case '"':
                        sb.append('"');
                        break;
                    case '\\':
                        sb.append('\\');
                        break;
                    case '/':
                        sb.append('/');
                        break;
                    case 'b':
                        sb.append('\b');
                        break;
                    case 'f':
                        sb.append('\f');
                        break;
                    case 'n':
                        sb.append('\n');
                        break;
                    case 'r':
                        sb.append('\r');
                        break;
                    case 't':
                        sb.append('\t');
                        break;
                    case 'u':
                        sb.append(readHex4());
                        break;
                    default:
                        throw new JsonException("invalid escape \\" + e + " in string", pos - 2);
                }
            } else if (c < 0x20) {
                throw new JsonException("unescaped control character in string", pos - 1);
            } else {
                sb.append(c);
            }
        }
    }

    private char readHex4() {
        if (pos + 4 > text.length()) {
            throw new JsonException("truncated \\u escape", pos);
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(text.charAt(pos + i), 16);
            if (d < 0) {
                throw new JsonException("invalid hex digit in \\u escape", pos + i);
            }
            v = (v << 4) | d;
        }
        pos += 4;
        return (char) v; // surrogate pairs stay as two chars, as in Java strings
    }

    private Double readNumber() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) {
                pos++;
            }
        } else {
            throw new JsonException("invalid number", start);
        }
        if (peek() == '.') {
            pos++;
            if (!isDigit(peek())) {
                throw new JsonException("invalid number: digits expected after '.'", pos);
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw new JsonException("invalid number: digits expected in exponent", pos);
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        // Double.parseDouble rounds correctly, as Python's float() does.
        return Double.parseDouble(text.substring(start, pos));
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw new JsonException("nesting deeper than " + MAX_DEPTH, pos);
        }
    }

    private void expectWord(String word) {
        if (!text.startsWith(word, pos)) {
            throw new JsonException("unexpected " + describeHere(), pos);
        }
        pos += word.length();
    }

    private void expectChar(char c) {
        if (peek() != c) {
            throw new JsonException("expected '" + c + "', got " + describeHere(), pos);
        }
        pos++;
    }

    private char peek() {
        return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private String describeHere() {
        if (pos >= text.length()) {
            return "end of text";
        }
        int end = Math.min(text.length(), pos + 12);
        return "'" + text.substring(pos, end) + "'";
    }

    /** Malformed JSON: the message names what was expected and the character offset. */
    public static final class JsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final int offset;

        JsonException(String message, int offset) {
            super("invalid JSON at offset " + offset + ": " + message);
            this.offset = offset;
        }

        public int offset() {
            return offset;
        }
    }
}

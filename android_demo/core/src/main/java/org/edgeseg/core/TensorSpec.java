package org.edgeseg.core;

import java.util.Arrays;

/** What the core needs to know about one model tensor: element type, shape, quantization. */
public final class TensorSpec {
    /** Element types the core reads and writes. */
    public enum Type {
        FLOAT32(4, 0, 0),
        UINT8(1, 0, 255),
        INT8(1, -128, 127);

        final int bytes;
        final int qmin;
        final int qmax;

        Type(int bytes, int qmin, int qmax) {
            this.bytes = bytes;
            this.qmin = qmin;
            this.qmax = qmax;
        }

        public int bytesPerElement() {
            return bytes;
        }

        /** Parses {@code float32}, {@code uint8}, {@code int8} (case-insensitive). */
        public static Type parse(String name) {
            for (Type t : values()) {
                if (t.name().equalsIgnoreCase(name)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("tensor type '" + name
                    + "' is not supported (float32, uint8, int8)");
        }
    }

    private final String name;
    private final Type type;
    private final int[] shape;
    private final float scale;
    private final int zeroPoint;

    /**
     * @param scale quantization scale as stored in the model (float32); 0 for float tensors
     * @param zeroPoint quantization zero point; 0 for float tensors
     */
    public TensorSpec(String name, Type type, int[] shape, float scale, int zeroPoint) {
        this.name = name;
        this.type = type;
        this.shape = shape.clone();
        this.scale = scale;
        this.zeroPoint = zeroPoint;
        if (type != Type.FLOAT32 && !(scale > 0)) {
            throw new MetadataException("tensor '" + name + "' is " + type.name().toLowerCase()
                    + " but has no quantization scale (" + scale + "): re-export the model with "
                    + "per-tensor quantization parameters");
        }
    }

    public String name() {
        return name;
    }

    public Type type() {
        return type;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    public float scale() {
        return scale;
    }

    public int zeroPoint() {
        return zeroPoint;
    }

    public int elementCount() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int byteCount() {
        return elementCount() * type.bytes;
    }

    public boolean isQuantized() {
        return type != Type.FLOAT32;
    }

    @Override
    public String toString() {
        return name + " " + type.name().toLowerCase() + Arrays.toString(shape)
                + (isQuantized() ? " scale=" + scale + " zero_point=" + zeroPoint : "");
    }
}

package org.tensorflow.lite;
public interface Tensor {
    DataType dataType();
    int numBytes();
    int[] shape();
    String name();
    QuantizationParams quantizationParams();
    class QuantizationParams { public float getScale() { throw new RuntimeException(); } public int getZeroPoint() { throw new RuntimeException(); } }
}

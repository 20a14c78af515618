package org.tensorflow.lite;
public final class Interpreter implements AutoCloseable {
    public static class Options {
        public Options setNumThreads(int numThreads) { return this; }
        public Options setUseXNNPACK(boolean useXNNPACK) { return this; }
        public Options addDelegate(Delegate delegate) { return this; }
    }
    public Interpreter(@androidx.annotation.NonNull java.nio.ByteBuffer byteBuffer, Options options) {}
    public Tensor getInputTensor(int inputIndex) { throw new RuntimeException(); }
    public Tensor getOutputTensor(int outputIndex) { throw new RuntimeException(); }
    public int getOutputTensorCount() { throw new RuntimeException(); }
    public void runForMultipleInputsOutputs(@androidx.annotation.NonNull Object[] inputs, @androidx.annotation.NonNull java.util.Map<Integer, Object> outputs) {}
    @Override public void close() {}
}

package org.tensorflow.lite.gpu;
public class GpuDelegate implements org.tensorflow.lite.Delegate {
    public static final class Options extends GpuDelegateFactory.Options {}
    public GpuDelegate(GpuDelegateFactory.Options options) {}
    public GpuDelegate() {}
    @Override public long getNativeHandle() { throw new RuntimeException(); }
    @Override public void close() {}
}

package org.tensorflow.lite.gpu;
public class CompatibilityList implements java.io.Closeable {
    public boolean isDelegateSupportedOnThisDevice() { throw new RuntimeException(); }
    public GpuDelegateFactory.Options getBestOptionsForThisDevice() { throw new RuntimeException(); }
    @Override public void close() {}
}

package org.tensorflow.lite;
public interface Delegate { long getNativeHandle(); default void close() {} }

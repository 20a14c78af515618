package androidx.camera.core;
public interface ImageProxy extends AutoCloseable {
    @Override void close();
    int getWidth();
    int getHeight();
    int getFormat();
    @androidx.annotation.NonNull PlaneProxy[] getPlanes();
    @androidx.annotation.NonNull ImageInfo getImageInfo();
    interface PlaneProxy { int getRowStride(); int getPixelStride(); @androidx.annotation.NonNull java.nio.ByteBuffer getBuffer(); }
}

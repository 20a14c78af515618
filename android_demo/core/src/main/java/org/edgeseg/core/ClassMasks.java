package org.edgeseg.core;

/** Binary masks, one channel per class, stored HxWxC (as the model's output and numpy). */
public final class ClassMasks {
    private final int width;
    private final int height;
    private final int channels;
    private final byte[] data;

    /** Wraps {@code hwc} (0/1 bytes, not copied); its length must be width*height*channels. */
    public ClassMasks(int width, int height, int channels, byte[] hwc) {
        if (hwc.length != width * height * channels) {
            throw new IllegalArgumentException("masks " + width + "x" + height + "x" + channels
                    + " need " + width * height * channels + " bytes, got " + hwc.length);
        }
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.data = hwc;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public int channels() {
        return channels;
    }

    /** The HxWxC 0/1 bytes (treat as read-only). */
    public byte[] data() {
        return data;
    }

    public boolean get(int x, int y, int c) {
        return data[(y * width + x) * channels + c] != 0;
    }

    /** One channel as a row-major HxW plane (a copy). */
    public byte[] plane(int c) {
        byte[] out = new byte[width * height];
        for (int i = 0; i < out.length; i++) {
            out[i] = data[i * channels + c];
        }
        return out;
    }

    /** Foreground pixel count of channel c. */
    public int area(int c) {
        int n = 0;
        for (int i = c; i < data.length; i += channels) {
            n += data[i] != 0 ? 1 : 0;
        }
        return n;
    }

    /** Builds masks from per-class HxW planes. */
    public static ClassMasks fromPlanes(int width, int height, byte[][] planes) {
        int c = planes.length;
        byte[] out = new byte[width * height * c];
        for (int k = 0; k < c; k++) {
            for (int i = 0; i < width * height; i++) {
                out[i * c + k] = planes[k][i];
            }
        }
        return new ClassMasks(width, height, c, out);
    }

    /** Back to the frame size: Pillow NEAREST per channel (runtime contract, section 3). */
    public ClassMasks resizeNearest(int outWidth, int outHeight) {
        if (outWidth == width && outHeight == height) {
            return this;
        }
        byte[][] planes = new byte[channels][];
        for (int k = 0; k < channels; k++) {
            planes[k] = PillowResize.nearest(plane(k), width, height, outWidth, outHeight);
        }
        return fromPlanes(outWidth, outHeight, planes);
    }
}

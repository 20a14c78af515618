package org.edgeseg.core;

/** An 8-bit grayscale image, row-major, one unsigned byte per pixel. */
public final class GrayImage {
    private final int width;
    private final int height;
    private final byte[] pixels;

    /** Wraps {@code pixels} (not copied); its length must be {@code width * height}. */
    public GrayImage(int width, int height, byte[] pixels) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image size " + width + "x" + height
                    + " must be positive");
        }
        if (pixels.length != width * height) {
            throw new IllegalArgumentException("image " + width + "x" + height + " needs "
                    + width * height + " pixels, got " + pixels.length);
        }
        this.width = width;
        this.height = height;
        this.pixels = pixels;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The backing array (row-major, unsigned): treat as read-only. */
    public byte[] pixels() {
        return pixels;
    }

    /** Pixel value 0..255 at column x, row y. */
    public int get(int x, int y) {
        return pixels[y * width + x] & 0xFF;
    }

    public GrayImage copy() {
        return new GrayImage(width, height, pixels.clone());
    }
}

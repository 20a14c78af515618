package org.edgeseg.core;

/** One segmentation class from the metadata: name, mask value and overlay colour (0xRRGGBB). */
public final class ClassSpec {
    private final String name;
    private final int value;
    private final int rgb;

    public ClassSpec(String name, int value, int rgb) {
        this.name = name;
        this.value = value;
        this.rgb = rgb & 0xFFFFFF;
    }

    public String name() {
        return name;
    }

    public int value() {
        return value;
    }

    /** Overlay colour as 0xRRGGBB. */
    public int rgb() {
        return rgb;
    }

    public int red() {
        return (rgb >> 16) & 0xFF;
    }

    public int green() {
        return (rgb >> 8) & 0xFF;
    }

    public int blue() {
        return rgb & 0xFF;
    }

    @Override
    public String toString() {
        return name + "=" + value + String.format(" #%06x", rgb);
    }
}

package org.edgeseg.core;

import java.util.Arrays;

/**
 * 8-connected components of a binary plane, numbered 1.. in raster order of their first pixel
 * (as {@code edgeseg.postprocess.label_components}).
 */
public final class ConnectedComponents {
    private final int[] labels;
    private final int[] sizes;
    private final int count;

    private ConnectedComponents(int[] labels, int[] sizes, int count) {
        this.labels = labels;
        this.sizes = sizes;
        this.count = count;
    }

    /** Labels the non-zero pixels of a row-major {@code width x height} plane. */
    public static ConnectedComponents label(byte[] plane, int width, int height) {
        int n = width * height;
        int[] labels = new int[n];
        int[] sizes = new int[16];
        int count = 0;
        int[] queue = new int[n];
        for (int start = 0; start < n; start++) {
            if (plane[start] == 0 || labels[start] != 0) {
                continue;
            }
            int label = ++count;
            labels[start] = label;
            int head = 0;
            int tail = 0;
            queue[tail++] = start;
            while (head < tail) {
                int p = queue[head++];
                int py = p / width;
                int px = p - py * width;
                for (int dy = -1; dy <= 1; dy++) {
                    int ny = py + dy;
                    if (ny < 0 || ny >= height) {
                        continue;
                    }
                    for (int dx = -1; dx <= 1; dx++) {
                        int nx = px + dx;
                        if ((dy == 0 && dx == 0) || nx < 0 || nx >= width) {
                            continue;
                        }
                        int q = ny * width + nx;
                        if (plane[q] != 0 && labels[q] == 0) {
                            labels[q] = label;
                            queue[tail++] = q;
                        }
                    }
                }
            }
            if (count > sizes.length) {
                sizes = Arrays.copyOf(sizes, sizes.length * 2);
            }
            sizes[count - 1] = tail;
        }
        return new ConnectedComponents(labels, Arrays.copyOf(sizes, count), count);
    }

    /** Label per pixel (0 = background). */
    public int[] labels() {
        return labels.clone();
    }

    /** {@code sizes()[k - 1]} is the pixel count of component k. */
    public int[] sizes() {
        return sizes.clone();
    }

    public int count() {
        return count;
    }

    /** Drops components with fewer than {@code minArea} pixels; {@code minArea <= 1} keeps all. */
    public static byte[] removeSmall(byte[] plane, int width, int height, int minArea) {
        if (minArea <= 1 || isEmpty(plane)) {
            return binary(plane);
        }
        ConnectedComponents cc = label(plane, width, height);
        byte[] out = new byte[plane.length];
        for (int i = 0; i < out.length; i++) {
            int l = cc.labels[i];
            out[i] = (byte) (l != 0 && cc.sizes[l - 1] >= minArea ? 1 : 0);
        }
        return out;
    }

    /** Keeps only the largest component (ties: the first in raster order). */
    public static byte[] largest(byte[] plane, int width, int height) {
        if (isEmpty(plane)) {
            return binary(plane);
        }
        ConnectedComponents cc = label(plane, width, height);
        int best = 0;
        for (int k = 1; k < cc.count; k++) {
            if (cc.sizes[k] > cc.sizes[best]) {
                best = k;
            }
        }
        byte[] out = new byte[plane.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (cc.labels[i] == best + 1 ? 1 : 0);
        }
        return out;
    }

    private static boolean isEmpty(byte[] plane) {
        for (byte b : plane) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] binary(byte[] plane) {
        byte[] out = new byte[plane.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (plane[i] != 0 ? 1 : 0);
        }
        return out;
    }
}

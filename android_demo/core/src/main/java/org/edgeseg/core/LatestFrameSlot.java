package org.edgeseg.core;

/**
 * Keep-only-latest hand-over between a frame producer (camera, video player) and the
 * segmenter, the frame-dropping rule of the runtime contract (section 0.4): the producer never
 * waits and nothing queues; when the segmenter is free it takes the newest frame that has
 * arrived, and every frame replaced before it was taken is dropped (and counted).
 *
 * @param <T> the frame type
 */
public final class LatestFrameSlot<T> {
    private T pending;
    private long offered;
    private long dropped;

    /** Puts a frame in the slot; returns the frame it replaced (dropped), or null. */
    public synchronized T offer(T frame) {
        if (frame == null) {
            throw new IllegalArgumentException("frame must not be null");
        }
        T replaced = pending;
        pending = frame;
        offered++;
        if (replaced != null) {
            dropped++;
        }
        notifyAll();
        return replaced;
    }

    /** Takes the newest frame, or null when none arrived since the last take. */
    public synchronized T poll() {
        T frame = pending;
        pending = null;
        return frame;
    }

    /** Waits up to {@code timeoutMs} for a frame; null on time-out. */
    public synchronized T take(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (pending == null) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            wait(left);
        }
        return poll();
    }

    /** Frames offered so far. */
    public synchronized long offered() {
        return offered;
    }

    /** Frames replaced before the segmenter took them. */
    public synchronized long dropped() {
        return dropped;
    }
}

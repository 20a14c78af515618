package org.edgeseg.core;

/**
 * Plays a video file at its own rate with the frame-dropping rule of {@link LatestFrameSlot}
 * (runtime contract, section 0.4): frame {@code i} is due at {@code timestamps[i]} after the
 * start; when the segmenter is free at time {@code t} it takes the newest frame due at or before
 * {@code t} that is later than the last one shown (the ones in between are dropped), or waits
 * for the next one when none is due yet.
 */
public final class VideoPacer {
    private final long[] timestampsUs;
    private int last = -1;
    private long dropped;

    /** Frame timestamps in microseconds from the first frame, non-decreasing. */
    public VideoPacer(long[] timestampsUs) {
        for (int i = 1; i < timestampsUs.length; i++) {
            if (timestampsUs[i] < timestampsUs[i - 1]) {
                throw new IllegalArgumentException("timestamp " + i + " (" + timestampsUs[i]
                        + " us) is before the previous one (" + timestampsUs[i - 1] + " us)");
            }
        }
        this.timestampsUs = timestampsUs.clone();
    }

    /** A constant-rate video of {@code count} frames at {@code fps}. */
    public static VideoPacer constantRate(int count, double fps) {
        if (count < 0 || !(fps > 0) || Double.isInfinite(fps)) {
            throw new IllegalArgumentException(count + " frames at " + fps
                    + " frames/s: need count >= 0 and a finite rate above 0");
        }
        long[] ts = new long[count];
        for (int i = 0; i < count; i++) {
            ts[i] = Math.round(i * 1_000_000.0 / fps);
        }
        return new VideoPacer(ts);
    }

    public int frameCount() {
        return timestampsUs.length;
    }

    /** When frame {@code index} is due, in microseconds from the start. */
    public long dueUs(int index) {
        return timestampsUs[index];
    }

    /**
     * The frame to show next when the segmenter is free at {@code nowUs}: the newest due frame
     * after the last one shown, or the next frame (to be waited for) when none is due; -1 at the
     * end. Marks it shown and counts the frames skipped over as dropped.
     */
    public int next(long nowUs) {
        int candidate = last + 1;
        if (candidate >= timestampsUs.length) {
            return -1;
        }
        // nothing due yet: the player waits for the next frame, then takes the newest due then
        long at = Math.max(nowUs, timestampsUs[candidate]);
        while (candidate + 1 < timestampsUs.length && timestampsUs[candidate + 1] <= at) {
            candidate++;
        }
        dropped += candidate - last - 1;
        last = candidate;
        return candidate;
    }

    /** Frames skipped because the segmenter was behind. */
    public long dropped() {
        return dropped;
    }
}

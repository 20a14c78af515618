package org.edgeseg.demo

/** Overlays per second over the last second or so (exponential average of frame intervals). */
class RateMeter {
    private var last = 0L
    private var meanIntervalNs = 0.0

    fun reset() {
        last = 0L
        meanIntervalNs = 0.0
    }

    /** Records an overlay at [nowNanos]; returns the current rate (0 until two were seen). */
    fun tick(nowNanos: Long): Double {
        if (last != 0L) {
            val interval = (nowNanos - last).toDouble()
            meanIntervalNs = if (meanIntervalNs == 0.0) interval else 0.9 * meanIntervalNs + 0.1 * interval
        }
        last = nowNanos
        return if (meanIntervalNs > 0) 1e9 / meanIntervalNs else 0.0
    }
}

package org.edgeseg.demo

import android.graphics.Bitmap

/** Whether there is a model to run, and if not, why. */
sealed interface ModelStatus {
    data object Loading : ModelStatus

    /** [summary]: one line about the model, from its metadata. */
    data class Ready(val summary: String) : ModelStatus

    /** No model or an unusable one: [title] for the banner, [detail] says how to fix it. */
    data class Unavailable(val title: String, val detail: String) : ModelStatus
}

/** One legend row: class name, overlay colour (0xRRGGBB), mask area in the frame (pixels). */
data class LegendItem(val name: String, val rgb: Int, val areaPixels: Int?)

/** A problem the user should see until they act (out of memory, a model that failed to copy). */
data class Banner(val title: String, val detail: String)

/** What is feeding frames. */
enum class Source { NONE, STILL, CAMERA, VIDEO, CLIP }

/**
 * Frame rate and end-to-end latency of a stream: [fps] overlays per second, [endToEndMs] from a
 * frame's arrival (camera) or due time (video) to its overlay, [decodeMs] the decode part of it,
 * [dropped] frames skipped by the keep-only-latest rule.
 */
data class StreamStats(val fps: Double, val endToEndMs: Double, val decodeMs: Double, val dropped: Long)

/** Everything the views draw; built only by [SegmentationViewModel]. */
data class UiState(
    val model: ModelStatus = ModelStatus.Loading,
    val modelName: String? = null,
    val bundledModel: Boolean = true,
    val overlay: Bitmap? = null,
    val frameLabel: String? = null,
    val frameSize: String? = null,
    val presence: Double? = null,
    val presenceGated: Boolean = false,
    val timings: Timings? = null,
    val stream: StreamStats? = null,
    val legend: List<LegendItem> = emptyList(),
    val settings: InferenceSettings = InferenceSettings(),
    val activeBackend: Backend? = null,
    val backendNote: String? = null,
    val hasFrameSequence: Boolean = false,
    val source: Source = Source.NONE,
    val banner: Banner? = null,
    val message: String? = null,
)

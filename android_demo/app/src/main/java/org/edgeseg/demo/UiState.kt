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

/** Everything the views draw; built only by [SegmentationViewModel]. */
data class UiState(
    val model: ModelStatus = ModelStatus.Loading,
    val overlay: Bitmap? = null,
    val frameLabel: String? = null,
    val frameSize: String? = null,
    val presence: Double? = null,
    val presenceGated: Boolean = false,
    val timings: Timings? = null,
    val legend: List<LegendItem> = emptyList(),
    val settings: InferenceSettings = InferenceSettings(),
    val activeBackend: Backend? = null,
    val backendNote: String? = null,
    val hasFrameSequence: Boolean = false,
    val playing: Boolean = false,
    val message: String? = null,
)

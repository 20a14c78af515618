package org.edgeseg.demo

import org.edgeseg.core.Overlay
import org.edgeseg.core.OverlayStyle

/** Where the interpreter runs. CPU uses LiteRT's XNNPACK kernels. */
enum class Backend(val label: String) {
    CPU("CPU (XNNPACK)"),
    GPU("GPU delegate"),
    NNAPI("NNAPI delegate"),
}

/**
 * What the user can change in the settings sheet (kept by [SettingsStore]). [threshold] is null
 * until the model is loaded; it then starts at the model's own threshold from its metadata.
 * [opacity] and [outline] only change how masks are drawn; the default opacity is the
 * contract's overlay (alpha 115/256).
 */
data class InferenceSettings(
    val backend: Backend = Backend.CPU,
    val threads: Int = 4,
    val threshold: Double? = null,
    val opacity: Double = Overlay.ALPHA / 256.0,
    val outline: Boolean = false,
) {
    val overlayStyle: OverlayStyle get() = OverlayStyle.of(opacity, outline)
}

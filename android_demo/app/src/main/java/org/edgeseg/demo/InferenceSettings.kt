package org.edgeseg.demo

/** Where the interpreter runs. CPU uses LiteRT's XNNPACK kernels. */
enum class Backend(val label: String) {
    CPU("CPU (XNNPACK)"),
    GPU("GPU delegate"),
    NNAPI("NNAPI delegate"),
}

/**
 * What the user can change in the settings sheet. [threshold] is null until the model is
 * loaded; it then starts at the model's own threshold from its metadata.
 */
data class InferenceSettings(
    val backend: Backend = Backend.CPU,
    val threads: Int = 4,
    val threshold: Double? = null,
)

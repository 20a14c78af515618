package org.edgeseg.demo

import android.content.Context
import android.os.SystemClock
import android.util.Size
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * The live camera: CameraX [ImageAnalysis] with `STRATEGY_KEEP_ONLY_LATEST` (the camera itself
 * drops frames while the analyzer is busy), YUV frames whose Y plane becomes the gray frame,
 * turned upright by the frame's rotation ([FrameDecoder.fromCamera]). Bound to [owner]'s
 * lifecycle: CameraX stops it when the screen stops. Needs the CAMERA permission.
 */
class CameraFeed(private val context: Context, private val owner: LifecycleOwner) {
    private var provider: ProcessCameraProvider? = null
    private var analysis: ImageAnalysis? = null
    private var executor: ExecutorService? = null

    val running: Boolean get() = analysis != null

    /** Starts the back camera; [onFrame] runs on the analysis thread, [onError] on the main one. */
    fun start(onFrame: (InputFrame) -> Unit, onError: (String) -> Unit) {
        if (running) return
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            try {
                val cameraProvider = future.get()
                val analyzerThread = Executors.newSingleThreadExecutor { r -> Thread(r, "camera-analysis") }
                val useCase = ImageAnalysis.Builder()
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                    .setResolutionSelector(
                        ResolutionSelector.Builder()
                            .setResolutionStrategy(ResolutionStrategy(ANALYSIS_SIZE, ResolutionStrategy.FALLBACK_RULE_CLOSEST_LOWER_THEN_HIGHER))
                            .build(),
                    )
                    .build()
                useCase.setAnalyzer(analyzerThread) { image ->
                    val arrived = SystemClock.elapsedRealtimeNanos()
                    val gray = try {
                        FrameDecoder.fromCamera(image)
                    } finally {
                        image.close() // hands the buffer back: CameraX then delivers the newest frame
                    }
                    onFrame(InputFrame("camera", gray, arrived, (SystemClock.elapsedRealtimeNanos() - arrived) / 1e6))
                }
                cameraProvider.unbindAll()
                cameraProvider.bindToLifecycle(owner, CameraSelector.DEFAULT_BACK_CAMERA, useCase)
                provider = cameraProvider
                analysis = useCase
                executor = analyzerThread
            } catch (e: Exception) { // ExecutionException, IllegalStateException/IllegalArgumentException: no camera
                stop()
                onError(e.message ?: e.javaClass.simpleName)
            }
        }, ContextCompat.getMainExecutor(context))
    }

    fun stop() {
        analysis?.let { useCase ->
            useCase.clearAnalyzer()
            provider?.unbind(useCase)
        }
        analysis = null
        executor?.shutdown()
        executor = null
    }

    private companion object {
        /** Analysis frames near 640x480: ultrasound detail at a rate the model can follow. */
        val ANALYSIS_SIZE = Size(640, 480)
    }
}

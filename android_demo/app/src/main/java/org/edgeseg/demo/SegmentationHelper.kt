package org.edgeseg.demo

import android.os.SystemClock
import java.io.Closeable
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.concurrent.Executors
import kotlinx.coroutines.ExecutorCoroutineDispatcher
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.withContext
import org.edgeseg.core.ClassMasks
import org.edgeseg.core.GrayImage
import org.edgeseg.core.MetadataException
import org.edgeseg.core.ModelMetadata
import org.edgeseg.core.PostprocessSpec
import org.edgeseg.core.SegmentationPipeline
import org.edgeseg.core.TensorSpec
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import org.tensorflow.lite.nnapi.NnApiDelegate

/** Per-frame latency, in milliseconds, split the way a profiler would want it. */
data class Timings(val preprocessMs: Double, val inferenceMs: Double, val postprocessMs: Double) {
    val totalMs: Double get() = preprocessMs + inferenceMs + postprocessMs
}

/** What the helper emits for each frame. */
sealed interface SegmentationEvent {
    /** Masks are already at the frame's size (contract section 3, Pillow NEAREST). */
    data class Result(
        val label: String,
        val frame: GrayImage,
        val masks: ClassMasks,
        val presence: Double?,
        val timings: Timings,
        val backend: Backend,
    ) : SegmentationEvent

    data class Failure(val label: String, val message: String) : SegmentationEvent
}

/**
 * Owns the LiteRT [Interpreter] (and its delegate) for one model and emits one
 * [SegmentationEvent] per frame, with its inference time. Everything between pixels and tensors
 * is done by the plain-Java core ([SegmentationPipeline]), configured only by the model's
 * embedded metadata.
 *
 * All interpreter calls run on one private thread; call [close] when done.
 */
class SegmentationHelper(private val model: ByteBuffer) : Closeable {
    /** Throws [MetadataException] when the model carries no usable edgeseg metadata. */
    val metadata: ModelMetadata = ModelMetadata.fromModel(model)

    private val thread: ExecutorCoroutineDispatcher =
        Executors.newSingleThreadExecutor { r -> Thread(r, "segmentation") }.asCoroutineDispatcher()
    private val _events = MutableSharedFlow<SegmentationEvent>(
        extraBufferCapacity = 4,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )
    val events: SharedFlow<SegmentationEvent> = _events.asSharedFlow()

    private var interpreter: Interpreter? = null
    // Typed, because both have close() (older org.tensorflow.lite.Delegate does not).
    private var gpuDelegate: GpuDelegate? = null
    private var nnApiDelegate: NnApiDelegate? = null
    private var pipeline: SegmentationPipeline? = null

    /** The backend actually in use after [configure] (may be CPU after a fallback). */
    var activeBackend: Backend = Backend.CPU
        private set

    /**
     * (Re)creates the interpreter for [backend]. If the GPU or NNAPI delegate cannot be
     * created or applied, falls back to CPU and returns the reason; null when [backend] is used.
     * Throws [MetadataException] / [UnsupportedOperationException] when the model itself cannot
     * be run by the core (its tensors disagree with its metadata, or it needs preprocessing the
     * core does not implement).
     */
    suspend fun configure(backend: Backend, threads: Int): String? = withContext(thread) {
        release()
        var fallback: String? = null
        val created = try {
            create(backend, threads)
        } catch (t: Throwable) { // delegates fail with Errors too (NoClassDefFoundError, ...)
            if (backend == Backend.CPU) throw t
            release()
            fallback = "${backend.label} unavailable (${t.message ?: t.javaClass.simpleName}): using CPU"
            create(Backend.CPU, threads)
        }
        interpreter = created
        activeBackend = if (fallback == null) backend else Backend.CPU
        val input = created.getInputTensor(0).toSpec()
        val outputs = (0 until created.outputTensorCount).map { created.getOutputTensor(it).toSpec() }
        pipeline = SegmentationPipeline(metadata, input, outputs)
        fallback
    }

    /** Segments one gray frame and emits the result (or the failure) on [events]. */
    suspend fun segment(label: String, frame: GrayImage, post: PostprocessSpec) {
        val event = withContext(thread) {
            try {
                infer(label, frame, post)
            } catch (e: Exception) {
                SegmentationEvent.Failure(label, e.message ?: e.javaClass.simpleName)
            }
        }
        _events.emit(event)
    }

    private fun infer(label: String, frame: GrayImage, post: PostprocessSpec): SegmentationEvent {
        val interp = interpreter ?: return SegmentationEvent.Failure(label, "interpreter not ready")
        val pipe = pipeline ?: return SegmentationEvent.Failure(label, "interpreter not ready")
        val t0 = SystemClock.elapsedRealtimeNanos()
        val input = pipe.prepareInput(frame)
        val outputs = HashMap<Int, Any>()
        val buffers = Array(interp.outputTensorCount) { i ->
            ByteBuffer.allocateDirect(interp.getOutputTensor(i).numBytes()).order(ByteOrder.nativeOrder())
        }
        buffers.forEachIndexed { i, buffer -> outputs[i] = buffer }
        val t1 = SystemClock.elapsedRealtimeNanos()
        interp.runForMultipleInputsOutputs(arrayOf<Any>(input), outputs)
        val t2 = SystemClock.elapsedRealtimeNanos()
        val presenceIndex = pipe.presenceOutputIndex()
        val presence = if (presenceIndex >= 0) pipe.presenceScore(buffers[presenceIndex]) else null
        val masks = pipe.decode(buffers[pipe.maskOutputIndex()], presence, post)
            .resizeNearest(frame.width(), frame.height())
        val t3 = SystemClock.elapsedRealtimeNanos()
        val timings = Timings((t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6)
        return SegmentationEvent.Result(label, frame, masks, presence, timings, activeBackend)
    }

    private fun create(backend: Backend, threads: Int): Interpreter {
        val options = Interpreter.Options().setNumThreads(threads)
        when (backend) {
            Backend.CPU -> options.setUseXNNPACK(true)
            Backend.GPU -> {
                val compatibility = CompatibilityList()
                try {
                    if (!compatibility.isDelegateSupportedOnThisDevice) {
                        throw UnsupportedOperationException("GPU delegate not supported on this device")
                    }
                    val gpu = GpuDelegate(compatibility.bestOptionsForThisDevice)
                    gpuDelegate = gpu
                    options.addDelegate(gpu)
                } finally {
                    compatibility.close()
                }
            }
            Backend.NNAPI -> {
                val nnapi = NnApiDelegate()
                nnApiDelegate = nnapi
                options.addDelegate(nnapi)
            }
        }
        return Interpreter(model, options)
    }

    private fun Tensor.toSpec(): TensorSpec {
        val type = when (dataType()) {
            DataType.FLOAT32 -> TensorSpec.Type.FLOAT32
            DataType.UINT8 -> TensorSpec.Type.UINT8
            DataType.INT8 -> TensorSpec.Type.INT8
            else -> throw MetadataException(
                "tensor '${name()}' has type ${dataType()}: the app reads float32, uint8 and int8",
            )
        }
        val q = quantizationParams()
        return TensorSpec(name(), type, shape(), q.scale, q.zeroPoint)
    }

    private fun release() {
        interpreter?.close()
        interpreter = null
        pipeline = null
        gpuDelegate?.close()
        gpuDelegate = null
        nnApiDelegate?.close()
        nnApiDelegate = null
    }

    override fun close() {
        thread.executor.execute { release() }
        thread.close()
    }
}

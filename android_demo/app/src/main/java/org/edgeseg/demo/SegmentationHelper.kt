package org.edgeseg.demo

import android.os.SystemClock
import java.io.Closeable
import java.nio.Buffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.concurrent.Executors
import kotlinx.coroutines.ExecutorCoroutineDispatcher
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.withContext
import org.edgeseg.core.ClassMasks
import org.edgeseg.core.GrayImage
import org.edgeseg.core.KeptOutput
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

/**
 * A frame on its way to the segmenter: [arrivedNanos] is when it arrived (camera callback) or
 * was due (video), on `SystemClock.elapsedRealtimeNanos`; end-to-end latency runs from there
 * to the overlay on screen. [decodeMs]: decoding and gray conversion, already spent.
 */
data class InputFrame(val label: String, val frame: GrayImage, val arrivedNanos: Long, val decodeMs: Double)

/** What the helper returns for each frame. */
sealed interface SegmentationEvent {
    /**
     * Masks are already at the frame's size (contract section 3, Pillow NEAREST). [reposted]:
     * only post-processing was re-run on kept probabilities (a new threshold), no inference.
     * [backendNote]: set when the delegate failed while running and the helper fell back to CPU.
     */
    data class Result(
        val input: InputFrame,
        val masks: ClassMasks,
        val presence: Double?,
        val timings: Timings,
        val backend: Backend,
        val reposted: Boolean = false,
        val backendNote: String? = null,
    ) : SegmentationEvent

    data class Failure(val label: String, val message: String) : SegmentationEvent
}

/**
 * Owns the LiteRT [Interpreter] (and its delegate) for one model and segments one frame at a
 * time. Everything between pixels and tensors is done by the plain-Java core
 * ([SegmentationPipeline]), configured only by the model's embedded metadata. Output buffers are
 * allocated once per configuration and reused; the last frame's probabilities are kept so that
 * [repost] re-runs post-processing only.
 *
 * All interpreter calls run on one private thread; call [close] when done.
 */
class SegmentationHelper(private val model: ByteBuffer) : Closeable {
    /** Throws [MetadataException] when the model carries no usable edgeseg metadata. */
    val metadata: ModelMetadata = ModelMetadata.fromModel(model)

    private val thread: ExecutorCoroutineDispatcher =
        Executors.newSingleThreadExecutor { r -> Thread(r, "segmentation") }.asCoroutineDispatcher()

    private var interpreter: Interpreter? = null
    // Typed, because both have close() (older org.tensorflow.lite.Delegate does not).
    private var gpuDelegate: GpuDelegate? = null
    private var nnApiDelegate: NnApiDelegate? = null
    private var pipeline: SegmentationPipeline? = null
    private var outputs: Array<ByteBuffer> = emptyArray()
    private var outputMap: Map<Int, Any> = emptyMap()
    private var threads = 1
    private var kept: Pair<InputFrame, KeptOutput>? = null

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
        this@SegmentationHelper.threads = threads
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
        install(created, if (fallback == null) backend else Backend.CPU)
        fallback
    }

    private fun install(created: Interpreter, backend: Backend) {
        interpreter = created
        activeBackend = backend
        val input = created.getInputTensor(0).toSpec()
        val specs = (0 until created.outputTensorCount).map { created.getOutputTensor(it).toSpec() }
        pipeline = SegmentationPipeline(metadata, input, specs)
        outputs = Array(created.outputTensorCount) { i ->
            ByteBuffer.allocateDirect(created.getOutputTensor(i).numBytes()).order(ByteOrder.nativeOrder())
        }
        outputMap = outputs.indices.associateWith { outputs[it] }
    }

    /**
     * Segments one frame. A delegate that fails while running (not only when created) makes
     * the helper switch to CPU once, say so in [SegmentationEvent.Result.backendNote], and run
     * the frame again; a CPU failure is a [SegmentationEvent.Failure].
     */
    suspend fun segment(input: InputFrame, post: PostprocessSpec): SegmentationEvent = withContext(thread) {
        try {
            infer(input, post, null)
        } catch (e: Exception) {
            if (activeBackend == Backend.CPU) {
                SegmentationEvent.Failure(input.label, e.message ?: e.javaClass.simpleName)
            } else {
                val failed = activeBackend
                val note = "${failed.label} failed while running (${e.message ?: e.javaClass.simpleName}): switched to CPU"
                try {
                    release()
                    install(create(Backend.CPU, threads), Backend.CPU)
                    infer(input, post, note)
                } catch (e2: Exception) {
                    SegmentationEvent.Failure(input.label, e2.message ?: e2.javaClass.simpleName)
                }
            }
        }
    }

    /** Post-processing only, on the last frame's kept probabilities (null when none is kept). */
    suspend fun repost(post: PostprocessSpec): SegmentationEvent.Result? = withContext(thread) {
        val (input, output) = kept ?: return@withContext null
        val t0 = SystemClock.elapsedRealtimeNanos()
        val masks = output.masks(post).resizeNearest(input.frame.width(), input.frame.height())
        val t1 = SystemClock.elapsedRealtimeNanos()
        SegmentationEvent.Result(input, masks, output.presence(), Timings(0.0, 0.0, (t1 - t0) / 1e6), activeBackend, reposted = true)
    }

    private fun infer(input: InputFrame, post: PostprocessSpec, note: String?): SegmentationEvent {
        val interp = interpreter ?: return SegmentationEvent.Failure(input.label, "interpreter not ready")
        val pipe = pipeline ?: return SegmentationEvent.Failure(input.label, "interpreter not ready")
        val t0 = SystemClock.elapsedRealtimeNanos()
        val tensor = pipe.prepareInput(input.frame)
        // LiteRT puts each output at the buffer's position: rewind the reused buffers (via Buffer:
        // ByteBuffer.clear() is missing below API 34)
        outputs.forEach { (it as Buffer).clear() }
        val t1 = SystemClock.elapsedRealtimeNanos()
        interp.runForMultipleInputsOutputs(arrayOf<Any>(tensor), outputMap)
        val t2 = SystemClock.elapsedRealtimeNanos()
        val presenceIndex = pipe.presenceOutputIndex()
        val presence = if (presenceIndex >= 0) pipe.presenceScore(outputs[presenceIndex]) else null
        val output = pipe.keep(outputs[pipe.maskOutputIndex()], presence) // absolute reads
        kept = input to output
        val masks = output.masks(post).resizeNearest(input.frame.width(), input.frame.height())
        val t3 = SystemClock.elapsedRealtimeNanos()
        val timings = Timings((t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6)
        return SegmentationEvent.Result(input, masks, presence, timings, activeBackend, backendNote = note)
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
        outputs = emptyArray()
        outputMap = emptyMap()
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

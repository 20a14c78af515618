package org.edgeseg.demo

import android.app.Application
import android.graphics.Bitmap
import android.net.Uri
import android.os.SystemClock
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import java.io.IOException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.edgeseg.core.ClassMasks
import org.edgeseg.core.GrayImage
import org.edgeseg.core.ModelMetadata
import org.edgeseg.core.Overlay
import org.edgeseg.core.PostprocessSpec

/**
 * Builds [UiState] from what the [SegmentationHelper] emits and from user actions. Views send
 * actions here and draw the state; they never touch the interpreter or the core.
 */
class SegmentationViewModel(application: Application) : AndroidViewModel(application) {
    private val _state = MutableStateFlow(UiState())
    val state: StateFlow<UiState> = _state.asStateFlow()

    private val frames: List<String> = ModelAssets.frameSequence(application)
    private var helper: SegmentationHelper? = null
    private var lastFrame: Pair<String, GrayImage>? = null
    private var playback: Job? = null
    private var pending: Job? = null

    init {
        _state.update { it.copy(hasFrameSequence = frames.isNotEmpty()) }
        viewModelScope.launch { loadModel() }
    }

    // ------------------------------------------------------------------ user actions

    /** A picked or captured image. */
    fun openUri(uri: Uri, label: String) {
        stopPlayback()
        val app = getApplication<Application>()
        pending?.cancel()
        pending = viewModelScope.launch {
            val frame = try {
                withContext(Dispatchers.IO) {
                    val stream = app.contentResolver.openInputStream(uri)
                        ?: throw IOException("$label: cannot be opened")
                    stream.use { FrameDecoder.decode(it, label) }
                }
            } catch (e: IOException) {
                showMessage(e.message ?: app.getString(R.string.error_decode))
                return@launch
            } catch (e: SecurityException) {
                showMessage(e.message ?: app.getString(R.string.error_decode))
                return@launch
            }
            lastFrame = label to frame
            segment(label, frame)
        }
    }

    /** Plays the bundled frame sequence in a loop, or stops it. */
    fun togglePlayback() {
        if (playback?.isActive == true) {
            stopPlayback()
            return
        }
        pending?.cancel()
        startPlayback()
    }

    private fun startPlayback() {
        val app = getApplication<Application>()
        if (helper == null || _state.value.model !is ModelStatus.Ready) return
        if (frames.isEmpty()) {
            showMessage(app.getString(R.string.no_frames, ModelAssets.FRAMES_DIR))
            return
        }
        playback = viewModelScope.launch {
            _state.update { it.copy(playing = true) }
            try {
                while (isActive) {
                    for (path in frames) {
                        val started = SystemClock.elapsedRealtime()
                        val frame = withContext(Dispatchers.IO) {
                            app.assets.open(path).use { FrameDecoder.decode(it, path) }
                        }
                        lastFrame = path to frame
                        segment(path, frame)
                        delay((FRAME_INTERVAL_MS - (SystemClock.elapsedRealtime() - started)).coerceAtLeast(0))
                    }
                }
            } catch (e: IOException) {
                showMessage(e.message ?: app.getString(R.string.error_decode))
            } finally {
                _state.update { it.copy(playing = false) }
            }
        }
    }

    fun setThreshold(threshold: Double) {
        _state.update { it.copy(settings = it.settings.copy(threshold = threshold)) }
        resegmentLastFrame()
    }

    fun setBackend(backend: Backend) {
        if (backend == _state.value.settings.backend) return
        _state.update { it.copy(settings = it.settings.copy(backend = backend)) }
        reconfigureAndResegment()
    }

    fun setThreads(threads: Int) {
        if (threads == _state.value.settings.threads) return
        _state.update { it.copy(settings = it.settings.copy(threads = threads)) }
        reconfigureAndResegment()
    }

    fun messageShown() {
        _state.update { it.copy(message = null) }
    }

    // ------------------------------------------------------------------ model and results

    private suspend fun loadModel() {
        val app = getApplication<Application>()
        val buffer = withContext(Dispatchers.IO) { ModelAssets.loadModel(app) }
        if (buffer == null) {
            _state.update {
                it.copy(
                    model = ModelStatus.Unavailable(
                        app.getString(R.string.model_missing_title),
                        app.getString(R.string.model_missing_detail, ModelAssets.MODEL_FILE),
                    ),
                )
            }
            return
        }
        val created = try {
            withContext(Dispatchers.Default) { SegmentationHelper(buffer) }
        } catch (e: IllegalArgumentException) { // MetadataException, malformed JSON
            unusable(e)
            return
        }
        helper = created
        viewModelScope.launch { created.events.collect { onEvent(it) } }
        val metadata = created.metadata
        _state.update {
            it.copy(
                settings = it.settings.copy(threshold = metadata.postprocess().threshold()),
                legend = legend(metadata, null),
            )
        }
        configure()
    }

    /** (Re)creates the interpreter for the current settings; false if the model cannot run. */
    private suspend fun configure(): Boolean {
        val h = helper ?: return false
        val settings = _state.value.settings
        return try {
            val note = h.configure(settings.backend, settings.threads)
            _state.update {
                it.copy(
                    model = ModelStatus.Ready(summary(h.metadata)),
                    activeBackend = h.activeBackend,
                    backendNote = note,
                )
            }
            true
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            // MetadataException: tensors disagree with the metadata; UnsupportedOperationException:
            // preprocessing the core lacks; IllegalArgumentException from LiteRT: a broken model.
            unusable(e)
            false
        }
    }

    private fun reconfigureAndResegment() {
        val wasPlaying = playback?.isActive == true
        stopPlayback()
        pending?.cancel()
        pending = viewModelScope.launch {
            if (configure()) {
                if (wasPlaying) startPlayback() else lastFrame?.let { (label, frame) -> segment(label, frame) }
            }
        }
    }

    private fun resegmentLastFrame() {
        if (playback?.isActive == true) return // the next frame picks up the new threshold
        val (label, frame) = lastFrame ?: return
        pending?.cancel()
        pending = viewModelScope.launch { segment(label, frame) }
    }

    private suspend fun segment(label: String, frame: GrayImage) {
        val h = helper ?: return
        if (_state.value.model !is ModelStatus.Ready) return
        h.segment(label, frame, postprocess(h.metadata))
    }

    private fun postprocess(metadata: ModelMetadata): PostprocessSpec {
        val base = metadata.postprocess()
        val threshold = _state.value.settings.threshold ?: return base
        return base.withThreshold(threshold)
    }

    private suspend fun onEvent(event: SegmentationEvent) {
        when (event) {
            is SegmentationEvent.Failure -> showMessage("${event.label}: ${event.message}")
            is SegmentationEvent.Result -> {
                val metadata = helper?.metadata ?: return
                val bitmap = withContext(Dispatchers.Default) {
                    val argb = Overlay.argb(event.frame, event.masks, metadata.classes())
                    Bitmap.createBitmap(argb, event.frame.width(), event.frame.height(), Bitmap.Config.ARGB_8888)
                }
                val post = postprocess(metadata)
                val presence = event.presence
                _state.update {
                    it.copy(
                        overlay = bitmap,
                        frameLabel = event.label,
                        frameSize = "${event.frame.width()}×${event.frame.height()}",
                        presence = presence,
                        presenceGated = post.presenceGate() && presence != null && presence < post.presenceThreshold(),
                        timings = event.timings,
                        legend = legend(metadata, event.masks),
                        activeBackend = event.backend,
                    )
                }
            }
        }
    }

    private fun unusable(e: Exception) {
        val app = getApplication<Application>()
        _state.update {
            it.copy(
                model = ModelStatus.Unavailable(
                    app.getString(R.string.model_unusable_title),
                    e.message ?: e.javaClass.simpleName,
                ),
            )
        }
    }

    private fun stopPlayback() {
        playback?.cancel()
        playback = null
    }

    private fun showMessage(text: String) {
        _state.update { it.copy(message = text) }
    }

    override fun onCleared() {
        helper?.close()
        helper = null
    }

    private companion object {
        const val FRAME_INTERVAL_MS = 66L // about 15 frames per second at most

        fun summary(md: ModelMetadata): String {
            val classes = md.classes().joinToString(", ") { it.name() }
            return "${md.arch().ifEmpty { "model" }} · ${md.quantization().ifEmpty { "?" }} · " +
                "input ${md.inputWidth()}×${md.inputHeight()} · classes: $classes · " +
                "edgeseg ${md.edgesegVersion().ifEmpty { "?" }}"
        }

        fun legend(md: ModelMetadata, masks: ClassMasks?): List<LegendItem> =
            md.classes().mapIndexed { c, spec ->
                LegendItem(spec.name(), spec.rgb(), masks?.takeIf { c < it.channels() }?.area(c))
            }
    }
}

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
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import org.edgeseg.core.ClassMasks
import org.edgeseg.core.LatestFrameSlot
import org.edgeseg.core.ModelMetadata
import org.edgeseg.core.PostprocessSpec

/**
 * Builds [UiState] from what the [SegmentationHelper] returns and from user actions. Views send
 * actions here and draw the state; they never touch the interpreter or the core.
 *
 * Frames reach the segmenter one at a time ([process], under a lock). The camera hands frames
 * over through a [LatestFrameSlot] (the newest waits, older ones are dropped); videos and the
 * bundled sequence are paced by [play]. A new threshold re-runs post-processing on the kept
 * probabilities ([SegmentationHelper.repost]); opacity and outline only redraw.
 */
class SegmentationViewModel(application: Application) : AndroidViewModel(application) {
    private val _state = MutableStateFlow(UiState())
    val state: StateFlow<UiState> = _state.asStateFlow()

    private val app: Application get() = getApplication()
    private val store = SettingsStore(application)
    private val frames: List<String> = ModelAssets.frameSequence(application)
    private var helper: SegmentationHelper? = null
    private var modelId: String? = null
    private val segmenting = Mutex()
    private var lastResult: SegmentationEvent.Result? = null
    private var source: Job? = null
    private var pending: Job? = null

    // camera: keep-only-latest hand-over to one worker
    private val cameraSlot = LatestFrameSlot<InputFrame>()
    private val cameraSignal = Channel<Unit>(Channel.CONFLATED)
    private val fps = RateMeter()
    private var cameraDroppedBefore = 0L

    init {
        _state.update {
            it.copy(
                hasFrameSequence = frames.isNotEmpty() || ModelAssets.hasClip(application),
                settings = store.load(null),
            )
        }
        viewModelScope.launch { loadModel() }
        viewModelScope.launch {
            for (signal in cameraSignal) {
                val frame = cameraSlot.poll() ?: continue
                if (_state.value.source == Source.CAMERA) process(frame, cameraSlot.dropped() - cameraDroppedBefore)
            }
        }
    }

    // ------------------------------------------------------------------ sources

    /** A picked or captured image. */
    fun openUri(uri: Uri, label: String) {
        stopSource()
        val resolver = app.contentResolver
        source = viewModelScope.launch {
            val t0 = SystemClock.elapsedRealtimeNanos()
            val frame = readFrame(label) {
                FrameDecoder.decode({ resolver.openInputStream(uri) ?: throw IOException("$label: cannot be opened") }, label)
            } ?: return@launch
            _state.update { it.copy(source = Source.STILL, stream = null) }
            process(InputFrame(label, frame, t0, (SystemClock.elapsedRealtimeNanos() - t0) / 1e6), null)
        }
    }

    /** A video from storage, played at its rate, dropping frames when behind. */
    fun openVideo(uri: Uri, label: String) = startPaced(Source.VIDEO, loop = false) {
        PacedSource.video(app, uri, null, label)
    }

    /** The bundled phantom clip (or, without it, the bundled frames) in a loop, or stop. */
    fun toggleClip() {
        if (_state.value.source == Source.CLIP) {
            stopSource()
            return
        }
        if (!_state.value.hasFrameSequence) {
            showMessage(app.getString(R.string.no_frames, ModelAssets.FRAMES_DIR))
            return
        }
        startPaced(Source.CLIP, loop = true) {
            if (ModelAssets.hasClip(app)) {
                PacedSource.video(app, null, ModelAssets.CLIP_FILE, app.getString(R.string.phantom_clip))
            } else {
                PacedSource.frames(app, frames, SEQUENCE_FPS)
            }
        }
    }

    /** The live camera started (frames follow through [onCameraFrame]) or stopped. */
    fun cameraRunning(running: Boolean) {
        if (running) {
            stopSource()
            fps.reset()
            cameraSlot.poll() // a frame left over from the last session
            cameraDroppedBefore = cameraSlot.dropped()
            _state.update { it.copy(source = Source.CAMERA, stream = null) }
        } else if (_state.value.source == Source.CAMERA) {
            _state.update { it.copy(source = Source.NONE) }
        }
    }

    /** Called on the camera's analysis thread: never blocks, never queues. */
    fun onCameraFrame(frame: InputFrame) {
        cameraSlot.offer(frame)
        cameraSignal.trySend(Unit)
    }

    fun stopSource() {
        source?.cancel()
        source = null
        _state.update { it.copy(source = Source.NONE) }
    }

    private fun startPaced(kind: Source, loop: Boolean, open: () -> PacedSource) {
        stopSource()
        if (helper == null || _state.value.model !is ModelStatus.Ready) return
        fps.reset()
        source = viewModelScope.launch {
            val paced = readFrame(kind.name.lowercase()) { open() } ?: return@launch
            _state.update { it.copy(source = kind, stream = null) }
            try {
                var dropped = 0L
                play(paced, loop, { frame -> process(frame, dropped) }, { dropped = it })
            } catch (e: IOException) {
                showBanner(app.getString(R.string.error_title), e.message ?: app.getString(R.string.error_decode))
            } catch (e: OutOfMemoryError) {
                showBanner(app.getString(R.string.error_title), app.getString(R.string.error_out_of_memory, kind.name.lowercase(), e.message ?: "OutOfMemoryError"))
            } finally {
                withContext(Dispatchers.IO) { paced.close() }
                _state.update { if (it.source == kind) it.copy(source = Source.NONE) else it }
            }
        }
    }

    /** Runs [block] on an I/O thread; I/O errors and out-of-memory become a banner (null). */
    private suspend fun <T> readFrame(label: String, block: () -> T): T? = try {
        withContext(Dispatchers.IO) { block() }
    } catch (e: IOException) {
        showBanner(app.getString(R.string.error_title), e.message ?: app.getString(R.string.error_decode))
        null
    } catch (e: SecurityException) {
        showBanner(app.getString(R.string.error_title), e.message ?: app.getString(R.string.error_decode))
        null
    } catch (e: OutOfMemoryError) {
        showBanner(app.getString(R.string.error_title), app.getString(R.string.error_out_of_memory, label, e.message ?: "OutOfMemoryError"))
        null
    }

    // ------------------------------------------------------------------ settings

    fun setThreshold(threshold: Double) {
        updateSettings { it.copy(threshold = threshold) }
        if (_state.value.source in STREAMING) return // the next frame uses it
        val h = helper ?: return
        val post = postprocess(h.metadata)
        pending?.cancel()
        pending = viewModelScope.launch {
            segmenting.withLock { h.repost(post) }?.let { show(it, null) }
        }
    }

    fun setOverlay(opacity: Double, outline: Boolean) {
        updateSettings { it.copy(opacity = opacity, outline = outline) }
        val last = lastResult ?: return
        pending?.cancel()
        pending = viewModelScope.launch { show(last, _state.value.stream?.dropped) }
    }

    fun setBackend(backend: Backend) {
        if (backend == _state.value.settings.backend) return
        updateSettings { it.copy(backend = backend) }
        reconfigure()
    }

    fun setThreads(threads: Int) {
        if (threads == _state.value.settings.threads) return
        updateSettings { it.copy(threads = threads) }
        reconfigure()
    }

    fun messageShown() {
        _state.update { it.copy(message = null) }
    }

    fun bannerDismissed() {
        _state.update { it.copy(banner = null) }
    }

    private fun updateSettings(change: (InferenceSettings) -> InferenceSettings) {
        _state.update { it.copy(settings = change(it.settings)) }
        store.save(_state.value.settings, modelId)
    }

    // ------------------------------------------------------------------ model

    /** A model picked from storage: copied, checked, then used instead of the current one. */
    fun loadUserModel(uri: Uri, name: String) {
        stopSource()
        viewModelScope.launch {
            val problem = importUserModel(app, uri, name)
            if (problem != null) {
                showBanner(app.getString(R.string.error_title), problem)
                return@launch
            }
            segmenting.withLock {
                helper?.close()
                helper = null
            }
            lastResult = null
            _state.update { it.copy(overlay = null, frameLabel = null, model = ModelStatus.Loading) }
            loadModel()
            showMessage(app.getString(R.string.user_model_loaded, name))
        }
    }

    private suspend fun loadModel() {
        val model = try {
            withContext(Dispatchers.IO) { ModelAssets.loadModel(app) }
        } catch (e: IOException) {
            unavailable(app.getString(R.string.model_unusable_title), app.getString(R.string.error_model_copy, e.message ?: e.javaClass.simpleName))
            return
        }
        if (model == null) {
            unavailable(app.getString(R.string.model_missing_title), app.getString(R.string.model_missing_detail, ModelAssets.MODEL_FILE))
            return
        }
        val created = try {
            withContext(Dispatchers.Default) { SegmentationHelper(model.buffer) }
        } catch (e: IllegalArgumentException) { // MetadataException, malformed JSON
            unavailable(app.getString(R.string.model_unusable_title), e.message ?: e.javaClass.simpleName)
            return
        }
        helper = created
        modelId = model.id
        val saved = store.load(model.id)
        _state.update {
            it.copy(
                modelName = model.name,
                bundledModel = model.bundled,
                settings = saved.copy(threshold = saved.threshold ?: created.metadata.postprocess().threshold()),
                legend = legend(created.metadata, null),
            )
        }
        configure()
    }

    /** (Re)creates the interpreter for the current settings; false if the model cannot run. */
    private suspend fun configure(): Boolean {
        val h = helper ?: return false
        val settings = _state.value.settings
        return try {
            val note = segmenting.withLock { h.configure(settings.backend, settings.threads) }
            _state.update {
                it.copy(model = ModelStatus.Ready(summary(h.metadata, it.modelName)), activeBackend = h.activeBackend, backendNote = note)
            }
            true
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            // MetadataException: tensors disagree with the metadata; UnsupportedOperationException:
            // preprocessing the core lacks; IllegalArgumentException from LiteRT: a broken model.
            unavailable(app.getString(R.string.model_unusable_title), e.message ?: e.javaClass.simpleName)
            false
        }
    }

    private fun reconfigure() {
        pending?.cancel()
        pending = viewModelScope.launch {
            if (configure()) {
                val last = lastResult
                if (last != null && _state.value.source == Source.STILL) process(last.input, null)
            }
        }
    }

    // ------------------------------------------------------------------ frames

    /** Segments one frame and draws it; returns when the overlay is in the state. */
    private suspend fun process(frame: InputFrame, dropped: Long?) {
        val h = helper ?: return
        if (_state.value.model !is ModelStatus.Ready) return
        val event = try {
            segmenting.withLock { h.segment(frame, postprocess(h.metadata)) }
        } catch (e: OutOfMemoryError) {
            showBanner(app.getString(R.string.error_title), app.getString(R.string.error_out_of_memory, frame.label, e.message ?: "OutOfMemoryError"))
            return
        }
        when (event) {
            is SegmentationEvent.Failure -> showMessage("${event.label}: ${event.message}")
            is SegmentationEvent.Result -> show(event, dropped)
        }
    }

    private suspend fun show(event: SegmentationEvent.Result, dropped: Long?) {
        val metadata = helper?.metadata ?: return
        val style = _state.value.settings.overlayStyle
        val frame = event.input.frame
        val bitmap = try {
            withContext(Dispatchers.Default) {
                val argb = style.argb(frame, event.masks, metadata.classes())
                Bitmap.createBitmap(argb, frame.width(), frame.height(), Bitmap.Config.ARGB_8888)
            }
        } catch (e: OutOfMemoryError) {
            showBanner(app.getString(R.string.error_title), app.getString(R.string.error_out_of_memory, event.input.label, e.message ?: "OutOfMemoryError"))
            return
        }
        lastResult = event
        val now = SystemClock.elapsedRealtimeNanos()
        val streaming = dropped != null && !event.reposted
        val stats = if (streaming) {
            StreamStats(fps.tick(now), (now - event.input.arrivedNanos) / 1e6, event.input.decodeMs, dropped ?: 0)
        } else {
            _state.value.stream
        }
        val post = postprocess(metadata)
        val presence = event.presence
        _state.update {
            it.copy(
                overlay = bitmap,
                frameLabel = event.input.label,
                frameSize = "${frame.width()}×${frame.height()}",
                presence = presence,
                presenceGated = post.presenceGate() && presence != null && presence < post.presenceThreshold(),
                timings = if (event.reposted) it.timings else event.timings,
                stream = stats,
                legend = legend(metadata, event.masks),
                activeBackend = event.backend,
                backendNote = event.backendNote ?: it.backendNote,
            )
        }
    }

    private fun postprocess(metadata: ModelMetadata): PostprocessSpec {
        val base = metadata.postprocess()
        val threshold = _state.value.settings.threshold ?: return base
        return base.withThreshold(threshold)
    }

    private fun unavailable(title: String, detail: String) {
        _state.update { it.copy(model = ModelStatus.Unavailable(title, detail)) }
    }

    private fun showBanner(title: String, detail: String) {
        _state.update { it.copy(banner = Banner(title, detail)) }
    }

    private fun showMessage(text: String) {
        _state.update { it.copy(message = text) }
    }

    override fun onCleared() {
        source?.cancel()
        helper?.close()
        helper = null
    }

    private companion object {
        const val SEQUENCE_FPS = 15.0
        val STREAMING = setOf(Source.CAMERA, Source.VIDEO, Source.CLIP)

        fun summary(md: ModelMetadata, name: String?): String {
            val classes = md.classes().joinToString(", ") { it.name() }
            return "${name ?: "model"} · ${md.arch().ifEmpty { "?" }} · ${md.quantization().ifEmpty { "?" }} · " +
                "input ${md.inputWidth()}×${md.inputHeight()} · classes: $classes · " +
                "edgeseg ${md.edgesegVersion().ifEmpty { "?" }}"
        }

        fun legend(md: ModelMetadata, masks: ClassMasks?): List<LegendItem> =
            md.classes().mapIndexed { c, spec ->
                LegendItem(spec.name(), spec.rgb(), masks?.takeIf { c < it.channels() }?.area(c))
            }
    }
}

package org.edgeseg.demo

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Color
import android.net.Uri
import android.os.Bundle
import android.text.SpannableStringBuilder
import android.text.Spanned
import android.text.style.ForegroundColorSpan
import android.view.Menu
import android.view.MenuItem
import android.view.View
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import com.google.android.material.snackbar.Snackbar
import java.io.File
import java.util.Locale
import kotlinx.coroutines.launch
import org.edgeseg.demo.databinding.ActivityMainBinding

/** The main screen: pick, capture, film or play frames; draws the frame, masks and numbers. */
class MainActivity : AppCompatActivity() {
    private lateinit var binding: ActivityMainBinding
    private val viewModel: SegmentationViewModel by viewModels()
    private lateinit var camera: CameraFeed
    private var captureUri: Uri? = null

    private val pickImage = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) viewModel.openUri(uri, uri.lastPathSegment ?: getString(R.string.picked_frame))
    }

    private val pickVideo = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) {
            stopCamera()
            viewModel.openVideo(uri, uri.lastPathSegment ?: getString(R.string.open_video))
        }
    }

    private val pickModel = registerForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
        if (uri != null) {
            stopCamera()
            viewModel.loadUserModel(uri, uri.lastPathSegment ?: getString(R.string.load_model))
        }
    }

    private val takePicture = registerForActivityResult(ActivityResultContracts.TakePicture()) { saved ->
        val uri = captureUri
        if (saved && uri != null) viewModel.openUri(uri, getString(R.string.camera_frame))
    }

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else Snackbar.make(binding.root, R.string.camera_permission_denied, Snackbar.LENGTH_LONG).show()
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        binding = ActivityMainBinding.inflate(layoutInflater)
        setContentView(binding.root)
        padForSystemBars(binding.root)
        setSupportActionBar(binding.toolbar)
        camera = CameraFeed(this, this)
        captureUri = savedInstanceState?.getString(KEY_CAPTURE_URI)?.let(Uri::parse)

        binding.openImage.setOnClickListener {
            stopCamera()
            pickImage.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        binding.takePhoto.setOnClickListener { capture() }
        binding.liveCamera.setOnClickListener { if (camera.running) stopCamera() else requestCamera() }
        binding.openVideo.setOnClickListener {
            if (viewModel.state.value.source == Source.VIDEO) {
                viewModel.stopSource()
            } else {
                pickVideo.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.VideoOnly))
            }
        }
        binding.playSequence.setOnClickListener {
            stopCamera()
            viewModel.toggleClip()
        }
        binding.loadModel.setOnClickListener { pickModel.launch(arrayOf("application/octet-stream", "*/*")) }
        binding.banner.setOnClickListener { viewModel.bannerDismissed() }

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                viewModel.state.collect { render(it) }
            }
        }
    }

    override fun onStop() {
        stopCamera() // CameraX unbinds with the lifecycle too; this keeps the state in step
        super.onStop()
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        captureUri?.let { outState.putString(KEY_CAPTURE_URI, it.toString()) }
    }

    override fun onCreateOptionsMenu(menu: Menu): Boolean {
        menuInflater.inflate(R.menu.main_menu, menu)
        return true
    }

    override fun onOptionsItemSelected(item: MenuItem): Boolean = when (item.itemId) {
        R.id.action_settings -> {
            if (supportFragmentManager.findFragmentByTag(SettingsSheet.TAG) == null) {
                SettingsSheet().show(supportFragmentManager, SettingsSheet.TAG)
            }
            true
        }
        R.id.action_about -> {
            startActivity(Intent(this, AboutActivity::class.java))
            true
        }
        else -> super.onOptionsItemSelected(item)
    }

    private fun requestCamera() {
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            cameraPermission.launch(Manifest.permission.CAMERA)
        }
    }

    private fun startCamera() {
        viewModel.cameraRunning(true)
        binding.root.keepScreenOn = true
        camera.start(viewModel::onCameraFrame) { reason ->
            viewModel.cameraRunning(false)
            binding.root.keepScreenOn = false
            Snackbar.make(binding.root, getString(R.string.camera_unavailable, reason), Snackbar.LENGTH_LONG).show()
        }
    }

    private fun stopCamera() {
        if (!camera.running) return
        camera.stop()
        binding.root.keepScreenOn = false
        viewModel.cameraRunning(false)
    }

    private fun capture() {
        stopCamera()
        val dir = File(cacheDir, "camera").apply { mkdirs() }
        val uri = FileProvider.getUriForFile(this, "$packageName.fileprovider", File(dir, "capture.jpg"))
        captureUri = uri
        try {
            takePicture.launch(uri)
        } catch (e: ActivityNotFoundException) {
            Snackbar.make(binding.root, R.string.no_camera_app, Snackbar.LENGTH_LONG).show()
        }
    }

    /** Draws [state]; no logic beyond formatting. */
    private fun render(state: UiState) {
        val ready = state.model is ModelStatus.Ready
        val banner = state.banner
        when (val model = state.model) {
            is ModelStatus.Unavailable -> {
                binding.bannerTitle.text = model.title
                binding.bannerDetail.text = model.detail
                binding.modelInfo.text = model.title
            }
            is ModelStatus.Ready -> binding.modelInfo.text = model.summary
            ModelStatus.Loading -> binding.modelInfo.setText(R.string.model_loading)
        }
        if (banner != null) {
            binding.bannerTitle.text = banner.title
            binding.bannerDetail.text = banner.detail
        }
        binding.banner.visibility = if (banner != null || state.model is ModelStatus.Unavailable) View.VISIBLE else View.GONE

        binding.openImage.isEnabled = ready
        binding.takePhoto.isEnabled = ready
        binding.liveCamera.isEnabled = ready
        binding.openVideo.isEnabled = ready
        binding.playSequence.isEnabled = ready && state.hasFrameSequence
        binding.liveCamera.setText(if (state.source == Source.CAMERA) R.string.stop_camera else R.string.live_camera)
        binding.openVideo.setText(if (state.source == Source.VIDEO) R.string.stop_video else R.string.open_video)
        binding.playSequence.setText(if (state.source == Source.CLIP) R.string.stop_sequence else R.string.play_sequence)

        binding.frameView.setImageBitmap(state.overlay)
        binding.placeholder.visibility = if (state.overlay == null) View.VISIBLE else View.GONE
        binding.frameInfo.text = if (state.frameLabel == null) {
            getString(R.string.no_frame)
        } else {
            getString(R.string.frame_info, state.frameLabel, state.frameSize ?: "")
        }

        binding.presenceValue.text = when (val p = state.presence) {
            null -> getString(R.string.presence_none)
            else -> getString(
                if (state.presenceGated) R.string.presence_gated else R.string.presence_value,
                String.format(Locale.US, "%.2f", p),
            )
        }
        binding.latencyValue.text = state.timings?.let {
            getString(
                R.string.latency_value,
                String.format(Locale.US, "%.1f", it.totalMs),
                String.format(Locale.US, "%.1f", it.preprocessMs),
                String.format(Locale.US, "%.1f", it.inferenceMs),
                String.format(Locale.US, "%.1f", it.postprocessMs),
            )
        } ?: getString(R.string.latency_none)
        binding.streamValue.text = state.stream?.let {
            getString(
                R.string.stream_value,
                String.format(Locale.US, "%.1f", it.fps),
                String.format(Locale.US, "%.0f", it.endToEndMs),
                String.format(Locale.US, "%.0f", it.decodeMs),
                it.dropped,
            )
        } ?: getString(R.string.stream_none)

        val backend = state.activeBackend?.label ?: state.settings.backend.label
        binding.backendValue.text = getString(
            R.string.backend_value, backend, state.settings.threads,
            String.format(Locale.US, "%.2f", state.settings.threshold ?: Double.NaN),
        ) + (state.backendNote?.let { "\n$it" } ?: "")

        binding.legendValue.text = legendText(state.legend)

        state.message?.let {
            Snackbar.make(binding.root, it, Snackbar.LENGTH_LONG).show()
            viewModel.messageShown()
        }
    }

    private fun legendText(items: List<LegendItem>): CharSequence {
        val text = SpannableStringBuilder()
        items.forEachIndexed { i, item ->
            if (i > 0) text.append('\n')
            val start = text.length
            text.append("■ ")
            text.setSpan(
                ForegroundColorSpan(Color.rgb(item.rgb shr 16 and 0xFF, item.rgb shr 8 and 0xFF, item.rgb and 0xFF)),
                start, start + 1, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE,
            )
            text.append(item.name)
            item.areaPixels?.let { text.append(getString(R.string.legend_area, it)) }
        }
        return text
    }

    private companion object {
        const val KEY_CAPTURE_URI = "capture_uri"
    }
}

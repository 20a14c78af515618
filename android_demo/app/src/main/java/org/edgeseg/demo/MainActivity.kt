package org.edgeseg.demo

import android.content.ActivityNotFoundException
import android.content.Intent
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
import androidx.core.content.FileProvider
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import com.google.android.material.snackbar.Snackbar
import java.io.File
import java.util.Locale
import kotlinx.coroutines.launch
import org.edgeseg.demo.databinding.ActivityMainBinding

/** The main screen: pick, capture or play frames; draws the frame, masks and numbers. */
class MainActivity : AppCompatActivity() {
    private lateinit var binding: ActivityMainBinding
    private val viewModel: SegmentationViewModel by viewModels()
    private var captureUri: Uri? = null

    private val pickImage = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) viewModel.openUri(uri, uri.lastPathSegment ?: getString(R.string.picked_frame))
    }

    private val takePicture = registerForActivityResult(ActivityResultContracts.TakePicture()) { saved ->
        val uri = captureUri
        if (saved && uri != null) viewModel.openUri(uri, getString(R.string.camera_frame))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        binding = ActivityMainBinding.inflate(layoutInflater)
        setContentView(binding.root)
        padForSystemBars(binding.root)
        setSupportActionBar(binding.toolbar)
        captureUri = savedInstanceState?.getString(KEY_CAPTURE_URI)?.let(Uri::parse)

        binding.openImage.setOnClickListener {
            pickImage.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        binding.takePhoto.setOnClickListener { capture() }
        binding.playSequence.setOnClickListener { viewModel.togglePlayback() }

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                viewModel.state.collect { render(it) }
            }
        }
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

    private fun capture() {
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
        when (val model = state.model) {
            is ModelStatus.Unavailable -> {
                binding.banner.visibility = View.VISIBLE
                binding.bannerTitle.text = model.title
                binding.bannerDetail.text = model.detail
                binding.modelInfo.text = model.title
            }
            is ModelStatus.Ready -> {
                binding.banner.visibility = View.GONE
                binding.modelInfo.text = model.summary
            }
            ModelStatus.Loading -> {
                binding.banner.visibility = View.GONE
                binding.modelInfo.setText(R.string.model_loading)
            }
        }
        binding.openImage.isEnabled = ready
        binding.takePhoto.isEnabled = ready
        binding.playSequence.isEnabled = ready && state.hasFrameSequence
        binding.playSequence.setText(if (state.playing) R.string.stop_sequence else R.string.play_sequence)

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

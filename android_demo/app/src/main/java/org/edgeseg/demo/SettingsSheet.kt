package org.edgeseg.demo

import android.os.Bundle
import android.view.LayoutInflater
import android.view.View
import android.view.ViewGroup
import androidx.fragment.app.activityViewModels
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import com.google.android.material.bottomsheet.BottomSheetDialogFragment
import java.util.Locale
import kotlinx.coroutines.launch
import org.edgeseg.demo.databinding.SheetSettingsBinding

/**
 * Threshold (re-runs post-processing only), overlay opacity and outline mode (redraw only),
 * backend (delegate) and thread count; forwards changes to the ViewModel, which keeps them.
 */
class SettingsSheet : BottomSheetDialogFragment() {
    private val viewModel: SegmentationViewModel by activityViewModels()
    private var _binding: SheetSettingsBinding? = null
    private val binding get() = _binding!!

    override fun onCreateView(inflater: LayoutInflater, container: ViewGroup?, savedInstanceState: Bundle?): View {
        _binding = SheetSettingsBinding.inflate(inflater, container, false)
        return binding.root
    }

    override fun onViewCreated(view: View, savedInstanceState: Bundle?) {
        super.onViewCreated(view, savedInstanceState)
        val settings = viewModel.state.value.settings

        binding.threshold.value = (settings.threshold ?: DEFAULT_THRESHOLD).toFloat().coerceIn(0f, 1f)
        binding.threshold.setLabelFormatter { String.format(Locale.US, "%.2f", it) }
        binding.threshold.addOnChangeListener { _, value, fromUser ->
            if (fromUser) viewModel.setThreshold(value.toDouble())
        }

        binding.opacity.value = settings.opacity.toFloat().coerceIn(0f, 1f)
        binding.opacity.setLabelFormatter { String.format(Locale.US, "%.0f %%", it * 100) }
        binding.opacity.addOnChangeListener { _, value, fromUser ->
            if (fromUser) viewModel.setOverlay(value.toDouble(), binding.outline.isChecked)
        }
        binding.outline.isChecked = settings.outline
        binding.outline.setOnCheckedChangeListener { _, checked ->
            viewModel.setOverlay(binding.opacity.value.toDouble(), checked)
        }

        binding.threads.value = settings.threads.toFloat().coerceIn(1f, MAX_THREADS)
        binding.threads.addOnChangeListener { _, value, fromUser ->
            if (fromUser) viewModel.setThreads(value.toInt())
        }

        binding.backendGroup.check(buttonFor(settings.backend))
        binding.backendGroup.addOnButtonCheckedListener { _, checkedId, isChecked ->
            if (isChecked) viewModel.setBackend(backendFor(checkedId))
        }

        viewLifecycleOwner.lifecycleScope.launch {
            viewLifecycleOwner.repeatOnLifecycle(Lifecycle.State.STARTED) {
                viewModel.state.collect { state ->
                    val threshold = state.settings.threshold
                    binding.thresholdValue.text = getString(
                        R.string.threshold_value,
                        if (threshold == null) "–" else String.format(Locale.US, "%.2f", threshold),
                    )
                    binding.threadsValue.text = getString(R.string.threads_value, state.settings.threads)
                    binding.backendNote.text = state.backendNote ?: getString(
                        R.string.backend_active, (state.activeBackend ?: state.settings.backend).label,
                    )
                }
            }
        }
    }

    override fun onDestroyView() {
        super.onDestroyView()
        _binding = null
    }

    private fun buttonFor(backend: Backend): Int = when (backend) {
        Backend.CPU -> R.id.backend_cpu
        Backend.GPU -> R.id.backend_gpu
        Backend.NNAPI -> R.id.backend_nnapi
    }

    private fun backendFor(id: Int): Backend = when (id) {
        R.id.backend_gpu -> Backend.GPU
        R.id.backend_nnapi -> Backend.NNAPI
        else -> Backend.CPU
    }

    companion object {
        const val TAG = "settings"
        private const val DEFAULT_THRESHOLD = 0.5
        private val MAX_THREADS = SettingsStore.MAX_THREADS.toFloat()
    }
}

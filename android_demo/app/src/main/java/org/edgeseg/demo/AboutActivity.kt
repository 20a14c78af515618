package org.edgeseg.demo

import android.os.Bundle
import androidx.activity.enableEdgeToEdge
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.edgeseg.core.ParitySummary
import org.edgeseg.demo.databinding.ActivityAboutBinding

/** What the app is, what it is not, whose work it builds on, and the bundled model's parity verdict. */
class AboutActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        val binding = ActivityAboutBinding.inflate(layoutInflater)
        setContentView(binding.root)
        padForSystemBars(binding.root)
        setSupportActionBar(binding.toolbar)
        supportActionBar?.setDisplayHomeAsUpEnabled(true)
        binding.version.text = getString(R.string.about_version, BuildConfigInfo.versionName(this))
        lifecycleScope.launch {
            val text = withContext(Dispatchers.IO) { parityText() }
            binding.parity.text = text
        }
    }

    /** The verdict of assets/parity/report.json (made by `edgeseg parity` for the bundled model). */
    private fun parityText(): String {
        val json = ModelAssets.parityReport(this) ?: return getString(R.string.parity_missing)
        return try {
            val s = ParitySummary.fromJson(json)
            getString(R.string.parity_value, s.verdict(), s.frames(), s.candidate(), s.credit()) +
                s.reasons().joinToString("") { "\n• $it" }
        } catch (e: IllegalArgumentException) {
            getString(R.string.parity_missing) + " (${e.message})"
        }
    }

    override fun onSupportNavigateUp(): Boolean {
        finish()
        return true
    }
}

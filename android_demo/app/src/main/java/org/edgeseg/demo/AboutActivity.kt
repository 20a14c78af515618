package org.edgeseg.demo

import android.os.Bundle
import androidx.activity.enableEdgeToEdge
import androidx.appcompat.app.AppCompatActivity
import org.edgeseg.demo.databinding.ActivityAboutBinding

/** What the app is, what it is not, and whose work it builds on. */
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
    }

    override fun onSupportNavigateUp(): Boolean {
        finish()
        return true
    }
}

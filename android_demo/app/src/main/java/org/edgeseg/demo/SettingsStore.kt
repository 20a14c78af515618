package org.edgeseg.demo

import android.content.Context

/** Keeps [InferenceSettings] across launches (SharedPreferences, written on every change). */
class SettingsStore(context: Context) {
    private val prefs = context.getSharedPreferences("settings", Context.MODE_PRIVATE)

    /** The saved settings; the threshold only when it was saved for the model [modelId]. */
    fun load(modelId: String?): InferenceSettings {
        val defaults = InferenceSettings()
        val backend = Backend.entries.firstOrNull { it.name == prefs.getString(KEY_BACKEND, null) } ?: defaults.backend
        val threshold = if (modelId != null && prefs.getString(KEY_THRESHOLD_MODEL, null) == modelId && prefs.contains(KEY_THRESHOLD)) {
            prefs.getFloat(KEY_THRESHOLD, 0.5f).toDouble()
        } else {
            null
        }
        return InferenceSettings(
            backend = backend,
            threads = prefs.getInt(KEY_THREADS, defaults.threads).coerceIn(1, MAX_THREADS),
            threshold = threshold,
            opacity = prefs.getFloat(KEY_OPACITY, defaults.opacity.toFloat()).toDouble().coerceIn(0.0, 1.0),
            outline = prefs.getBoolean(KEY_OUTLINE, defaults.outline),
        )
    }

    fun save(settings: InferenceSettings, modelId: String?) {
        val edit = prefs.edit()
            .putString(KEY_BACKEND, settings.backend.name)
            .putInt(KEY_THREADS, settings.threads)
            .putFloat(KEY_OPACITY, settings.opacity.toFloat())
            .putBoolean(KEY_OUTLINE, settings.outline)
        val threshold = settings.threshold
        if (threshold != null && modelId != null) {
            edit.putFloat(KEY_THRESHOLD, threshold.toFloat()).putString(KEY_THRESHOLD_MODEL, modelId)
        }
        edit.apply()
    }

    companion object {
        const val MAX_THREADS = 8
        private const val KEY_BACKEND = "backend"
        private const val KEY_THREADS = "threads"
        private const val KEY_THRESHOLD = "threshold"
        private const val KEY_THRESHOLD_MODEL = "threshold_model"
        private const val KEY_OPACITY = "opacity"
        private const val KEY_OUTLINE = "outline"
    }
}

// Versions are pinned in gradle/libs.versions.toml; Gradle itself in gradle/wrapper.
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.android) apply false
}

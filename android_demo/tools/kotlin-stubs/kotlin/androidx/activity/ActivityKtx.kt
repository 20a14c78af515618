// Kotlin-only AndroidX APIs (extension functions and objects), signatures only.
package androidx.activity

import androidx.lifecycle.ViewModel

fun ComponentActivity.enableEdgeToEdge() {}

inline fun <reified VM : ViewModel> ComponentActivity.viewModels(): Lazy<VM> = throw RuntimeException()

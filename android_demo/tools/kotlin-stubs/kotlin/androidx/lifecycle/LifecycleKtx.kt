package androidx.lifecycle

import kotlinx.coroutines.CoroutineScope

val ViewModel.viewModelScope: CoroutineScope get() = throw RuntimeException()

val LifecycleOwner.lifecycleScope: CoroutineScope get() = throw RuntimeException()

suspend fun LifecycleOwner.repeatOnLifecycle(state: Lifecycle.State, block: suspend CoroutineScope.() -> Unit) {}

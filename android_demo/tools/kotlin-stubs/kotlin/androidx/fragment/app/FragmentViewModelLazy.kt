package androidx.fragment.app

import androidx.lifecycle.ViewModel

inline fun <reified VM : ViewModel> Fragment.activityViewModels(): Lazy<VM> = throw RuntimeException()

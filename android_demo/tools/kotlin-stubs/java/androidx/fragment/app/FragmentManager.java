package androidx.fragment.app;
public abstract class FragmentManager { @androidx.annotation.Nullable public abstract Fragment findFragmentByTag(@androidx.annotation.Nullable String tag); }

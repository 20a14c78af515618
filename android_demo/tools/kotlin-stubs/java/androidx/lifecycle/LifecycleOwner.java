package androidx.lifecycle;
public interface LifecycleOwner { @androidx.annotation.NonNull Lifecycle getLifecycle(); }

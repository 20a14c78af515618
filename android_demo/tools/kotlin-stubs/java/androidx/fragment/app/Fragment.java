package androidx.fragment.app;
public class Fragment implements androidx.lifecycle.LifecycleOwner {
    @androidx.annotation.NonNull public androidx.lifecycle.Lifecycle getLifecycle() { throw new RuntimeException(); }
    @androidx.annotation.NonNull public androidx.lifecycle.LifecycleOwner getViewLifecycleOwner() { throw new RuntimeException(); }
    @androidx.annotation.Nullable public android.view.View onCreateView(@androidx.annotation.NonNull android.view.LayoutInflater inflater, @androidx.annotation.Nullable android.view.ViewGroup container, @androidx.annotation.Nullable android.os.Bundle savedInstanceState) { throw new RuntimeException(); }
    public void onViewCreated(@androidx.annotation.NonNull android.view.View view, @androidx.annotation.Nullable android.os.Bundle savedInstanceState) {}
    public void onDestroyView() {}
    @androidx.annotation.NonNull public final android.content.Context requireContext() { throw new RuntimeException(); }
    @androidx.annotation.NonNull public final String getString(int resId) { throw new RuntimeException(); }
    @androidx.annotation.NonNull public final String getString(int resId, @androidx.annotation.Nullable Object... formatArgs) { throw new RuntimeException(); }
}

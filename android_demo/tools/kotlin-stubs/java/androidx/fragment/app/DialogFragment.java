package androidx.fragment.app;
public class DialogFragment extends Fragment { public void show(@androidx.annotation.NonNull FragmentManager manager, @androidx.annotation.Nullable String tag) {} }

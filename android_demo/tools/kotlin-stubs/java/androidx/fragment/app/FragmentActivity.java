package androidx.fragment.app;
public class FragmentActivity extends androidx.activity.ComponentActivity {
    @androidx.annotation.NonNull public FragmentManager getSupportFragmentManager() { throw new RuntimeException(); }
}

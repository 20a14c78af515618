package androidx.appcompat.app;
public class AppCompatActivity extends androidx.fragment.app.FragmentActivity {
    public void setSupportActionBar(@androidx.annotation.Nullable androidx.appcompat.widget.Toolbar toolbar) {}
    @androidx.annotation.Nullable public ActionBar getSupportActionBar() { throw new RuntimeException(); }
    public boolean onSupportNavigateUp() { throw new RuntimeException(); }
}

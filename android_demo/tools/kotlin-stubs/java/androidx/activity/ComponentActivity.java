package androidx.activity;
import androidx.activity.result.ActivityResultCallback;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.contract.ActivityResultContract;
public class ComponentActivity extends android.content.ContextWrapper implements androidx.lifecycle.LifecycleOwner {
    @androidx.annotation.NonNull public androidx.lifecycle.Lifecycle getLifecycle() { throw new RuntimeException(); }
    protected void onCreate(@androidx.annotation.Nullable android.os.Bundle savedInstanceState) {}
    protected void onSaveInstanceState(@androidx.annotation.NonNull android.os.Bundle outState) {}
    protected void onStart() {}
    protected void onStop() {}
    public void setContentView(android.view.View view) {}
    @androidx.annotation.NonNull public android.view.LayoutInflater getLayoutInflater() { throw new RuntimeException(); }
    @androidx.annotation.NonNull public android.view.MenuInflater getMenuInflater() { throw new RuntimeException(); }
    public boolean onCreateOptionsMenu(@androidx.annotation.NonNull android.view.Menu menu) { throw new RuntimeException(); }
    public boolean onOptionsItemSelected(@androidx.annotation.NonNull android.view.MenuItem item) { throw new RuntimeException(); }
    public void finish() {}
    @androidx.annotation.NonNull public final <I, O> ActivityResultLauncher<I> registerForActivityResult(
            @androidx.annotation.NonNull ActivityResultContract<I, O> contract, @androidx.annotation.NonNull ActivityResultCallback<O> callback) { throw new RuntimeException(); }
}

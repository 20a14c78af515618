package android.content;
import java.io.File;
public class ContextWrapper extends Context {
    public android.content.res.AssetManager getAssets() { throw new RuntimeException(); }
    public ContentResolver getContentResolver() { throw new RuntimeException(); }
    public Context getApplicationContext() { throw new RuntimeException(); }
    public File getCacheDir() { throw new RuntimeException(); }
    public File getFilesDir() { throw new RuntimeException(); }
    public String getPackageName() { throw new RuntimeException(); }
    public android.content.pm.PackageManager getPackageManager() { throw new RuntimeException(); }
    public SharedPreferences getSharedPreferences(String name, int mode) { throw new RuntimeException(); }
}

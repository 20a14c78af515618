package android.content;
import java.io.File;
public abstract class Context {
    public static final int MODE_PRIVATE = 0;
    public abstract android.content.res.AssetManager getAssets();
    public abstract ContentResolver getContentResolver();
    public abstract Context getApplicationContext();
    public abstract File getCacheDir();
    public abstract File getFilesDir();
    public abstract String getPackageName();
    public abstract android.content.pm.PackageManager getPackageManager();
    public abstract SharedPreferences getSharedPreferences(String name, int mode);
    public final String getString(int resId) { throw new RuntimeException(); }
    public final String getString(int resId, Object... formatArgs) { throw new RuntimeException(); }
    public final CharSequence getText(int resId) { throw new RuntimeException(); }
    public void startActivity(Intent intent) { throw new RuntimeException(); }
}

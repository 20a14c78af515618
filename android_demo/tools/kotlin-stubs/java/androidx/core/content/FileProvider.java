package androidx.core.content;
public class FileProvider {
    @androidx.annotation.NonNull public static android.net.Uri getUriForFile(@androidx.annotation.NonNull android.content.Context context, @androidx.annotation.NonNull String authority, @androidx.annotation.NonNull java.io.File file) { throw new RuntimeException(); }
}

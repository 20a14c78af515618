package androidx.core.content;
public class ContextCompat {
    public static int checkSelfPermission(@androidx.annotation.NonNull android.content.Context context, @androidx.annotation.NonNull String permission) { throw new RuntimeException(); }
    @androidx.annotation.NonNull public static java.util.concurrent.Executor getMainExecutor(@androidx.annotation.NonNull android.content.Context context) { throw new RuntimeException(); }
}

package androidx.core.view;
public class ViewCompat {
    public static void setOnApplyWindowInsetsListener(@androidx.annotation.NonNull android.view.View v, @androidx.annotation.Nullable OnApplyWindowInsetsListener listener) {}
}

package androidx.core.view;
public class WindowInsetsCompat {
    @androidx.annotation.NonNull public androidx.core.graphics.Insets getInsets(int typeMask) { throw new RuntimeException(); }
    public static final class Type { public static int systemBars() { return 0; } public static int displayCutout() { return 0; } }
}

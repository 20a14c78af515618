package androidx.core.view;
public interface OnApplyWindowInsetsListener {
    @androidx.annotation.NonNull WindowInsetsCompat onApplyWindowInsets(@androidx.annotation.NonNull android.view.View v, @androidx.annotation.NonNull WindowInsetsCompat insets);
}

package com.google.android.material.snackbar;
public class Snackbar {
    public static final int LENGTH_LONG = 0;
    @androidx.annotation.NonNull public static Snackbar make(@androidx.annotation.NonNull android.view.View view, @androidx.annotation.NonNull CharSequence text, int duration) { throw new RuntimeException(); }
    @androidx.annotation.NonNull public static Snackbar make(@androidx.annotation.NonNull android.view.View view, int resId, int duration) { throw new RuntimeException(); }
    public void show() {}
}

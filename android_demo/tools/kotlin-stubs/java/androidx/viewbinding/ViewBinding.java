package androidx.viewbinding;
public interface ViewBinding { @androidx.annotation.NonNull android.view.View getRoot(); }

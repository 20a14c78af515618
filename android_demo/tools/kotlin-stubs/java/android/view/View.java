package android.view;
public class View {
    public static final int VISIBLE = 0;
    public static final int INVISIBLE = 4;
    public static final int GONE = 8;
    public View(android.content.Context context) {}
    public interface OnClickListener { void onClick(View v); }
    public void setOnClickListener(OnClickListener l) {}
    public int getVisibility() { throw new RuntimeException(); }
    public void setVisibility(int visibility) {}
    public boolean isEnabled() { throw new RuntimeException(); }
    public void setEnabled(boolean enabled) {}
    public void setPadding(int left, int top, int right, int bottom) {}
    public void setKeepScreenOn(boolean keepScreenOn) {}
    public boolean getKeepScreenOn() { throw new RuntimeException(); }
    public android.content.Context getContext() { throw new RuntimeException(); }
}

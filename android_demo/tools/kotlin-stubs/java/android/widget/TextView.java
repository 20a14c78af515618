package android.widget;
public class TextView extends android.view.View {
    public TextView(android.content.Context c) { super(c); }
    public final void setText(CharSequence text) {}
    public final void setText(int resid) {}
    public CharSequence getText() { throw new RuntimeException(); }
}

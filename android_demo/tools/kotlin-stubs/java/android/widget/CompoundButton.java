package android.widget;
public abstract class CompoundButton extends Button {
    public CompoundButton(android.content.Context c) { super(c); }
    public interface OnCheckedChangeListener { void onCheckedChanged(CompoundButton buttonView, boolean isChecked); }
    public boolean isChecked() { throw new RuntimeException(); }
    public void setChecked(boolean checked) {}
    public void setOnCheckedChangeListener(OnCheckedChangeListener listener) {}
}

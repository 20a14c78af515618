package com.google.android.material.button;
public class MaterialButtonToggleGroup extends android.widget.LinearLayout {
    public MaterialButtonToggleGroup(android.content.Context c) { super(c); }
    public interface OnButtonCheckedListener { void onButtonChecked(MaterialButtonToggleGroup group, int checkedId, boolean isChecked); }
    public void check(int id) {}
    public void addOnButtonCheckedListener(@androidx.annotation.NonNull OnButtonCheckedListener listener) {}
}

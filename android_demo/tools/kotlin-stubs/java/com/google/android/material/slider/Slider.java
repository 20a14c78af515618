package com.google.android.material.slider;
public class Slider extends android.view.View {
    public Slider(android.content.Context c) { super(c); }
    public interface OnChangeListener { void onValueChange(@androidx.annotation.NonNull Slider slider, float value, boolean fromUser); }
    public float getValue() { throw new RuntimeException(); }
    public void setValue(float value) {}
    public float getValueFrom() { throw new RuntimeException(); }
    public float getValueTo() { throw new RuntimeException(); }
    public void setLabelFormatter(@androidx.annotation.Nullable LabelFormatter formatter) {}
    public void addOnChangeListener(@androidx.annotation.NonNull OnChangeListener listener) {}
}

package com.google.android.material.slider;
public interface LabelFormatter { @androidx.annotation.NonNull String getFormattedValue(float value); }

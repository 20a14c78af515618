package com.google.android.material.materialswitch;
public class MaterialSwitch extends androidx.appcompat.widget.SwitchCompat { public MaterialSwitch(android.content.Context c) { super(c); } }

package com.google.android.material.button;
public class MaterialButton extends android.widget.Button { public MaterialButton(android.content.Context c) { super(c); } }

package com.google.android.material.appbar;
public class MaterialToolbar extends androidx.appcompat.widget.Toolbar { public MaterialToolbar(android.content.Context c) { super(c); } }

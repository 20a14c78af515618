package androidx.appcompat.widget;
public class SwitchCompat extends android.widget.CompoundButton { public SwitchCompat(android.content.Context c) { super(c); } }

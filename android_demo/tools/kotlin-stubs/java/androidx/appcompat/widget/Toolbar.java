package androidx.appcompat.widget;
public class Toolbar extends android.view.ViewGroup { public Toolbar(android.content.Context c) { super(c); } }

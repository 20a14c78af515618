package androidx.appcompat.app;
public abstract class ActionBar { public abstract void setDisplayHomeAsUpEnabled(boolean showHomeAsUp); }

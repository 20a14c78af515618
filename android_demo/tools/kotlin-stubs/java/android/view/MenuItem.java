package android.view;
public interface MenuItem { int getItemId(); MenuItem setChecked(boolean checked); MenuItem setVisible(boolean visible); }

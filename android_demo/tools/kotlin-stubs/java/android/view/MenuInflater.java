package android.view;
public class MenuInflater { public void inflate(int menuRes, Menu menu) {} }

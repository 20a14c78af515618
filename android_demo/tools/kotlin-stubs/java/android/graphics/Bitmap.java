package android.graphics;
public final class Bitmap {
    public enum Config { ALPHA_8, RGB_565, ARGB_8888 }
    public static Bitmap createBitmap(int[] colors, int width, int height, Config config) { throw new RuntimeException(); }
    public static Bitmap createBitmap(int width, int height, Config config) { throw new RuntimeException(); }
    public int getWidth() { throw new RuntimeException(); }
    public int getHeight() { throw new RuntimeException(); }
    public void getPixels(int[] pixels, int offset, int stride, int x, int y, int width, int height) {}
    public void setPixels(int[] pixels, int offset, int stride, int x, int y, int width, int height) {}
    public boolean isRecycled() { throw new RuntimeException(); }
    public void recycle() {}
}

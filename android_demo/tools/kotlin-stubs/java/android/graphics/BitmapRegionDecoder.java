package android.graphics;
import java.io.IOException;
import java.io.InputStream;
public final class BitmapRegionDecoder {
    @Deprecated public static BitmapRegionDecoder newInstance(InputStream is, boolean isShareable) throws IOException { throw new RuntimeException(); }
    public static BitmapRegionDecoder newInstance(InputStream is) throws IOException { throw new RuntimeException(); }
    public Bitmap decodeRegion(Rect rect, BitmapFactory.Options options) { throw new RuntimeException(); }
    public int getWidth() { throw new RuntimeException(); }
    public int getHeight() { throw new RuntimeException(); }
    public void recycle() {}
}

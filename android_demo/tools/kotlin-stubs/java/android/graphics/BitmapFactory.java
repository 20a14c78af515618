package android.graphics;
import java.io.InputStream;
public class BitmapFactory {
    public static class Options {
        public Bitmap.Config inPreferredConfig;
        public boolean inPremultiplied;
        public boolean inScaled;
        public boolean inJustDecodeBounds;
        public int inSampleSize;
        public Bitmap inBitmap;
        public boolean inMutable;
        public int outWidth;
        public int outHeight;
        public String outMimeType;
    }
    public static Bitmap decodeStream(InputStream is, Rect outPadding, Options opts) { throw new RuntimeException(); }
}

package androidx.exifinterface.media;
public class ExifInterface {
    public static final String TAG_ORIENTATION = "Orientation";
    public static final int ORIENTATION_NORMAL = 1;
    public ExifInterface(@androidx.annotation.NonNull java.io.InputStream inputStream) throws java.io.IOException {}
    public int getAttributeInt(@androidx.annotation.NonNull String tag, int defaultValue) { throw new RuntimeException(); }
}

package android.content;
import java.io.FileNotFoundException;
import java.io.InputStream;
public abstract class ContentResolver {
    public final InputStream openInputStream(android.net.Uri uri) throws FileNotFoundException { throw new RuntimeException(); }
    public final android.os.ParcelFileDescriptor openFileDescriptor(android.net.Uri uri, String mode) throws FileNotFoundException { throw new RuntimeException(); }
}

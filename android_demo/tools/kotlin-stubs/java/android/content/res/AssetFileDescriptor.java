package android.content.res;
import java.io.Closeable;
import java.io.FileDescriptor;
public class AssetFileDescriptor implements Closeable {
    public FileDescriptor getFileDescriptor() { throw new RuntimeException(); }
    public long getStartOffset() { throw new RuntimeException(); }
    public long getDeclaredLength() { throw new RuntimeException(); }
    public long getLength() { throw new RuntimeException(); }
    @Override public void close() throws java.io.IOException {}
}

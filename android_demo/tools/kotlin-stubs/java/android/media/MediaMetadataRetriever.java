package android.media;
import java.io.FileDescriptor;
public class MediaMetadataRetriever implements AutoCloseable {
    public static final int OPTION_CLOSEST = 3;
    public static final int OPTION_PREVIOUS_SYNC = 0;
    public static final int METADATA_KEY_DURATION = 9;
    public static final int METADATA_KEY_VIDEO_WIDTH = 18;
    public static final int METADATA_KEY_VIDEO_HEIGHT = 19;
    public static final int METADATA_KEY_VIDEO_ROTATION = 24;
    public static final int METADATA_KEY_CAPTURE_FRAMERATE = 25;
    public static final int METADATA_KEY_VIDEO_FRAME_COUNT = 32;
    public void setDataSource(android.content.Context context, android.net.Uri uri) {}
    public void setDataSource(FileDescriptor fd, long offset, long length) {}
    public String extractMetadata(int keyCode) { throw new RuntimeException(); }
    public android.graphics.Bitmap getFrameAtTime(long timeUs, int option) { throw new RuntimeException(); }
    public android.graphics.Bitmap getFrameAtIndex(int frameIndex) { throw new RuntimeException(); }
    public void release() throws java.io.IOException {}
    @Override public void close() throws java.io.IOException {}
}

package android.os;
public final class SystemClock {
    public static long elapsedRealtime() { throw new RuntimeException(); }
    public static long elapsedRealtimeNanos() { throw new RuntimeException(); }
    public static long uptimeMillis() { throw new RuntimeException(); }
}

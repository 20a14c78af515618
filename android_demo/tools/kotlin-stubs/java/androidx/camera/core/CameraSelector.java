package androidx.camera.core;
public final class CameraSelector { @androidx.annotation.NonNull public static final CameraSelector DEFAULT_BACK_CAMERA = null; }

package androidx.camera.lifecycle;
import androidx.camera.core.Camera;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.UseCase;
public final class ProcessCameraProvider {
    @androidx.annotation.NonNull public static com.google.common.util.concurrent.ListenableFuture<ProcessCameraProvider> getInstance(@androidx.annotation.NonNull android.content.Context context) { throw new RuntimeException(); }
    @androidx.annotation.NonNull public Camera bindToLifecycle(@androidx.annotation.NonNull androidx.lifecycle.LifecycleOwner owner, @androidx.annotation.NonNull CameraSelector selector, @androidx.annotation.NonNull UseCase... useCases) { throw new RuntimeException(); }
    public void unbind(@androidx.annotation.NonNull UseCase... useCases) {}
    public void unbindAll() {}
}

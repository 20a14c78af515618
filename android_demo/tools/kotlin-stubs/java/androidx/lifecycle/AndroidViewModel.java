package androidx.lifecycle;
public class AndroidViewModel extends ViewModel {
    public AndroidViewModel(@androidx.annotation.NonNull android.app.Application application) {}
    @androidx.annotation.NonNull public <T extends android.app.Application> T getApplication() { throw new RuntimeException(); }
}

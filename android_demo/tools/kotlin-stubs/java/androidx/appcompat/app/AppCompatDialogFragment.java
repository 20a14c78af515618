package androidx.appcompat.app;
public class AppCompatDialogFragment extends androidx.fragment.app.DialogFragment {}

package com.google.android.material.bottomsheet;
public class BottomSheetDialogFragment extends androidx.appcompat.app.AppCompatDialogFragment {}

package android.text;
public class SpannableStringBuilder implements CharSequence, Spanned {
    public SpannableStringBuilder append(CharSequence text) { throw new RuntimeException(); }
    public SpannableStringBuilder append(char text) { throw new RuntimeException(); }
    public void setSpan(Object what, int start, int end, int flags) {}
    public int length() { throw new RuntimeException(); }
    public char charAt(int i) { throw new RuntimeException(); }
    public CharSequence subSequence(int a, int b) { throw new RuntimeException(); }
}

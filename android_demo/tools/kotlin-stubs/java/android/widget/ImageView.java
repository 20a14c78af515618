package android.widget;
public class ImageView extends android.view.View {
    public ImageView(android.content.Context c) { super(c); }
    public void setImageBitmap(android.graphics.Bitmap bm) {}
}

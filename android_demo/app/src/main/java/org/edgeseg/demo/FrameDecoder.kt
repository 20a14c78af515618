package org.edgeseg.demo

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import java.io.IOException
import java.io.InputStream
import org.edgeseg.core.GrayConversion
import org.edgeseg.core.GrayImage

/**
 * Decodes an image file to the gray frame the core works on (contract section 1, step 1:
 * Pillow's luma on the decoded RGB; gray images come back unchanged).
 *
 * Frames are decoded at full resolution and not rotated by EXIF orientation, as the Python
 * reference (Pillow) reads them; decoding itself is Android's (PNG is exact, JPEG decoders may
 * differ from libjpeg in Pillow by a level here and there).
 */
object FrameDecoder {
    fun decode(stream: InputStream, label: String): GrayImage {
        val options = BitmapFactory.Options().apply {
            inPreferredConfig = Bitmap.Config.ARGB_8888
            inPremultiplied = false // keep raw RGB under any alpha: Pillow's "L" ignores alpha
            inScaled = false
        }
        val bitmap = BitmapFactory.decodeStream(stream, null, options)
            ?: throw IOException("$label: not an image Android can decode (PNG, JPEG, BMP, WebP)")
        try {
            val argb = IntArray(bitmap.width * bitmap.height)
            bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
            return GrayConversion.fromArgb(argb, bitmap.width, bitmap.height)
        } finally {
            bitmap.recycle()
        }
    }
}

package org.edgeseg.demo

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.BitmapRegionDecoder
import android.graphics.Rect
import android.os.Build
import androidx.camera.core.ImageProxy
import androidx.exifinterface.media.ExifInterface
import java.io.IOException
import java.io.InputStream
import java.nio.Buffer
import org.edgeseg.core.FrameOrientation
import org.edgeseg.core.FrameReduction
import org.edgeseg.core.GrayConversion
import org.edgeseg.core.GrayImage

/**
 * Turns images, video frames and camera frames into the gray frame the core works on, by the
 * runtime contract's section 0 (the same rule as `edgeseg.imaging.read_frame`): gray (Pillow's
 * luma on the decoded RGB), oversized frames box-reduced by [FrameReduction] while decoding in
 * strips (a 25 MP photo is never held as one bitmap), then EXIF orientation ([FrameOrientation]).
 *
 * Decoding itself is Android's: PNG is exact; JPEG decoders may differ from Pillow's libjpeg by a
 * level here and there. A camera frame's gray is its Y plane (the sensor pipeline's luma, not
 * Pillow's formula on RGB: there is no RGB to match).
 */
object FrameDecoder {
    /** Bytes of one decoded ARGB strip while reducing a large image. */
    private const val STRIP_BYTES = 8 shl 20

    /**
     * Decodes the image [open] returns (called up to three times: bounds, EXIF, pixels).
     * Throws [IOException] for what cannot be decoded; [OutOfMemoryError] is left to the caller.
     */
    fun decode(open: () -> InputStream, label: String): GrayImage {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        open().use { BitmapFactory.decodeStream(it, null, bounds) }
        val width = bounds.outWidth
        val height = bounds.outHeight
        if (width <= 0 || height <= 0) {
            throw IOException("$label: not an image Android can decode (PNG, JPEG, BMP, WebP)")
        }
        val orientation = try {
            open().use { ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL) }
        } catch (e: IOException) {
            ExifInterface.ORIENTATION_NORMAL // no or damaged EXIF: pixels as stored
        }
        val factor = FrameReduction.factor(width, height)
        val stored = if (factor == 1) decodeWhole(open, label) else decodeReduced(open, label, width, height, factor)
        return FrameOrientation.apply(stored, orientation)
    }

    /** A decoded video frame (ARGB) to gray, reduced when oversized, turned by [rotationDegrees]. */
    fun fromBitmap(bitmap: Bitmap, rotationDegrees: Int): GrayImage {
        val argb = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        val gray = GrayConversion.fromArgb(argb, bitmap.width, bitmap.height)
        val reduced = FrameReduction.reduce(gray, FrameReduction.factor(gray.width(), gray.height()))
        return FrameOrientation.apply(reduced, FrameOrientation.fromRotationDegrees(rotationDegrees))
    }

    /** A CameraX YUV_420_888 frame: its Y plane, turned upright by the frame's rotation. */
    fun fromCamera(image: ImageProxy): GrayImage {
        val plane = image.planes[0]
        val buffer = plane.buffer
        val width = image.width
        val height = image.height
        val out = ByteArray(width * height)
        val rowStride = plane.rowStride
        val pixelStride = plane.pixelStride
        val row = ByteArray(rowStride)
        for (y in 0 until height) {
            (buffer as Buffer).position(y * rowStride) // via Buffer: the ByteBuffer override needs API 34
            val n = minOf(rowStride, buffer.remaining())
            buffer.get(row, 0, n)
            for (x in 0 until width) {
                out[y * width + x] = row[x * pixelStride]
            }
        }
        val gray = GrayImage(width, height, out)
        val reduced = FrameReduction.reduce(gray, FrameReduction.factor(width, height))
        return FrameOrientation.apply(reduced, FrameOrientation.fromRotationDegrees(image.imageInfo.rotationDegrees))
    }

    private fun options() = BitmapFactory.Options().apply {
        inPreferredConfig = Bitmap.Config.ARGB_8888
        inPremultiplied = false // keep raw RGB under any alpha: Pillow's "L" ignores alpha
        inScaled = false
    }

    private fun decodeWhole(open: () -> InputStream, label: String): GrayImage {
        val bitmap = open().use { BitmapFactory.decodeStream(it, null, options()) }
            ?: throw IOException("$label: not an image Android can decode (PNG, JPEG, BMP, WebP)")
        try {
            val argb = IntArray(bitmap.width * bitmap.height)
            bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
            return GrayConversion.fromArgb(argb, bitmap.width, bitmap.height)
        } finally {
            bitmap.recycle()
        }
    }

    /** Strips of whole reduction blocks, each decoded, made gray and reduced, then dropped. */
    private fun decodeReduced(open: () -> InputStream, label: String, width: Int, height: Int, factor: Int): GrayImage {
        val reducer = FrameReduction.Reducer(width, height, factor)
        val rows = reducer.stripRows(maxOf(1, STRIP_BYTES / (4 * width)))
        val argb = IntArray(width * rows)
        open().use { stream ->
            val decoder = newRegionDecoder(stream)
                ?: throw IOException("$label: ${width}x$height is too large to decode at once and Android cannot decode this format in strips (use PNG, JPEG or WebP)")
            try {
                var y = 0
                while (y < height) {
                    val n = minOf(rows, height - y)
                    val strip = decoder.decodeRegion(Rect(0, y, width, y + n), options())
                        ?: throw IOException("$label: rows $y..${y + n} could not be decoded")
                    try {
                        strip.getPixels(argb, 0, width, 0, 0, width, n)
                    } finally {
                        strip.recycle()
                    }
                    reducer.addRows(GrayConversion.fromArgb(argb, width, n).pixels(), n)
                    y += n
                }
            } finally {
                decoder.recycle()
            }
        }
        return reducer.result()
    }

    private fun newRegionDecoder(stream: InputStream): BitmapRegionDecoder? = try {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            BitmapRegionDecoder.newInstance(stream)
        } else {
            @Suppress("DEPRECATION")
            BitmapRegionDecoder.newInstance(stream, false)
        }
    } catch (e: IOException) {
        null // a format without region decoding (BMP, GIF)
    }
}

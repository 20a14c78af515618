package org.edgeseg.demo

import android.content.Context
import java.io.FileInputStream
import java.io.IOException
import java.nio.Buffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel

/** The bundled model and frame sequence, read from app/src/main/assets. */
object ModelAssets {
    const val MODEL_FILE = "model_int8.tflite"
    const val FRAMES_DIR = "frames"
    private val FRAME_SUFFIXES = listOf(".png", ".jpg", ".jpeg", ".bmp", ".webp")

    /**
     * The model as a buffer the interpreter can use (memory-mapped when stored uncompressed), or
     * null when the APK was built without it.
     */
    fun loadModel(context: Context): ByteBuffer? {
        val assets = context.assets
        if (assets.list("")?.contains(MODEL_FILE) != true) return null
        return try {
            assets.openFd(MODEL_FILE).use { fd ->
                FileInputStream(fd.fileDescriptor).channel.use { channel ->
                    channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
                }
            }
        } catch (e: IOException) {
            // Stored compressed (openFd refuses): copy it into a direct buffer instead.
            val bytes = assets.open(MODEL_FILE).use { it.readBytes() }
            val buffer = ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder())
            buffer.put(bytes)
            (buffer as Buffer).rewind() // via Buffer: ByteBuffer.rewind() is missing below API 34
            buffer
        }
    }

    /** Asset paths of the bundled frame sequence, in name order (may be empty). */
    fun frameSequence(context: Context): List<String> =
        (context.assets.list(FRAMES_DIR) ?: emptyArray())
            .filter { name -> FRAME_SUFFIXES.any { name.lowercase().endsWith(it) } }
            .sorted()
            .map { "$FRAMES_DIR/$it" }
}

package org.edgeseg.demo

import android.content.Context
import android.net.Uri
import java.io.File
import java.io.FileInputStream
import java.io.IOException
import java.nio.Buffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel

/** A model ready for the interpreter: [id] (name and size) keys the settings kept for it. */
data class LoadedModel(val buffer: ByteBuffer, val name: String, val id: String, val bundled: Boolean)

/**
 * The bundled model, frames, clip and parity report (app/src/main/assets), and a model the
 * user loaded from storage (copied into the app's files, then used instead of the bundled one).
 * I/O errors are thrown as [IOException]; the ViewModel turns them into a banner.
 */
object ModelAssets {
    const val MODEL_FILE = "model_int8.tflite"
    const val FRAMES_DIR = "frames"
    const val CLIP_FILE = "clips/phantom_clip.mp4"
    const val PARITY_REPORT = "parity/report.json"
    private const val USER_DIR = "models"
    private const val USER_MODEL = "user_model.tflite"
    private const val USER_NAME = "user_model.name"
    private val FRAME_SUFFIXES = listOf(".png", ".jpg", ".jpeg", ".bmp", ".webp")

    /** The user's model when one was loaded, else the bundled one; null when there is none. */
    fun loadModel(context: Context): LoadedModel? {
        val user = File(File(context.filesDir, USER_DIR), USER_MODEL)
        if (user.isFile) {
            val name = File(user.parentFile, USER_NAME).takeIf { it.isFile }?.readText()?.trim() ?: USER_MODEL
            return LoadedModel(map(user), name, "user:$name:${user.length()}", bundled = false)
        }
        val assets = context.assets
        if (assets.list("")?.contains(MODEL_FILE) != true) return null
        val buffer = try {
            assets.openFd(MODEL_FILE).use { fd ->
                FileInputStream(fd.fileDescriptor).channel.use { channel ->
                    channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
                }
            }
        } catch (e: IOException) {
            // Stored compressed (openFd refuses): copy it into a direct buffer instead.
            val bytes = assets.open(MODEL_FILE).use { it.readBytes() }
            val direct = ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder())
            direct.put(bytes)
            (direct as Buffer).rewind() // via Buffer: ByteBuffer.rewind() is missing below API 34
            direct
        }
        return LoadedModel(buffer, MODEL_FILE, "bundled:${buffer.capacity()}", bundled = true)
    }

    /**
     * Copies the model at [uri] next to the kept one (not over it) and returns the copy, to be
     * checked before [commitUserModel]; a failed copy leaves nothing behind.
     */
    fun stageUserModel(context: Context, uri: Uri): File {
        val dir = File(context.filesDir, USER_DIR).apply { mkdirs() }
        val staged = File(dir, "$USER_MODEL.part")
        try {
            val input = context.contentResolver.openInputStream(uri) ?: throw IOException("$uri cannot be opened")
            input.use { src -> staged.outputStream().use { src.copyTo(it) } }
        } catch (e: IOException) {
            staged.delete()
            throw e
        }
        return staged
    }

    fun map(file: File): ByteBuffer = FileInputStream(file).channel.use { it.map(FileChannel.MapMode.READ_ONLY, 0, it.size()) }

    /** Makes a checked staged copy the user's model (a rename: never half-written). */
    fun commitUserModel(staged: File, displayName: String) {
        val dir = staged.parentFile ?: throw IOException("$staged has no folder")
        val nameFile = File(dir, "$USER_NAME.part")
        nameFile.writeText(displayName)
        if (!staged.renameTo(File(dir, USER_MODEL)) || !nameFile.renameTo(File(dir, USER_NAME))) {
            throw IOException("could not replace the model in ${dir.path}")
        }
    }

    /** Asset paths of the bundled frame sequence, in name order (may be empty). */
    fun frameSequence(context: Context): List<String> =
        (context.assets.list(FRAMES_DIR) ?: emptyArray())
            .filter { name -> FRAME_SUFFIXES.any { name.lowercase().endsWith(it) } }
            .sorted()
            .map { "$FRAMES_DIR/$it" }

    /** Whether the bundled phantom clip is in the APK. */
    fun hasClip(context: Context): Boolean =
        context.assets.list(CLIP_FILE.substringBefore('/'))?.contains(CLIP_FILE.substringAfter('/')) == true

    /** The bundled parity report's text, or null when the APK has none. */
    fun parityReport(context: Context): String? = try {
        context.assets.open(PARITY_REPORT).use { it.readBytes().toString(Charsets.UTF_8) }
    } catch (e: IOException) {
        null
    }
}

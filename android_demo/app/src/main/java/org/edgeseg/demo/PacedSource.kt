package org.edgeseg.demo

import android.content.Context
import android.media.MediaMetadataRetriever
import android.net.Uri
import android.os.Build
import android.os.SystemClock
import java.io.Closeable
import java.io.IOException
import kotlin.coroutines.coroutineContext
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.withContext
import org.edgeseg.core.GrayImage
import org.edgeseg.core.VideoPacer

/**
 * Frames played at their own rate: a video file (or the bundled phantom clip) or the bundled
 * frame sequence. [timestampsUs]: when each frame is due, from the first; [decode] gives frame
 * `i` as gray (called on an I/O thread, in order).
 */
class PacedSource(
    val label: String,
    val timestampsUs: LongArray,
    private val decodeFrame: (Int) -> GrayImage,
    private val onClose: () -> Unit = {},
) : Closeable {
    fun decode(index: Int): GrayImage = decodeFrame(index)

    override fun close() = onClose()

    companion object {
        private const val FALLBACK_FPS = 30.0

        /** A video from [uri], or from the APK's assets when [asset] is set. */
        fun video(context: Context, uri: Uri?, asset: String?, label: String): PacedSource {
            val retriever = MediaMetadataRetriever()
            try {
                if (asset != null) {
                    context.assets.openFd(asset).use { fd -> retriever.setDataSource(fd.fileDescriptor, fd.startOffset, fd.declaredLength) }
                } else {
                    retriever.setDataSource(context, uri)
                }
            } catch (e: RuntimeException) { // IllegalArgumentException: not a video Android can read
                retriever.release()
                throw IOException("$label: not a video Android can play (${e.message ?: e.javaClass.simpleName})", e)
            }
            val durationMs = retriever.extractMetadata(MediaMetadataRetriever.METADATA_KEY_DURATION)?.toLongOrNull() ?: 0L
            val rotation = retriever.extractMetadata(MediaMetadataRetriever.METADATA_KEY_VIDEO_ROTATION)?.toIntOrNull() ?: 0
            val byIndex = Build.VERSION.SDK_INT >= Build.VERSION_CODES.P
            val counted = if (byIndex) {
                retriever.extractMetadata(MediaMetadataRetriever.METADATA_KEY_VIDEO_FRAME_COUNT)?.toIntOrNull()
            } else {
                null
            }
            val count = counted ?: (durationMs * FALLBACK_FPS / 1000).toInt()
            if (count <= 0 || durationMs <= 0) {
                retriever.release()
                throw IOException("$label: the video has no frames Android can read")
            }
            val pacer = VideoPacer.constantRate(count, count * 1000.0 / durationMs)
            val timestamps = LongArray(count) { pacer.dueUs(it) }
            return PacedSource(label, timestamps, { i ->
                val bitmap = if (counted != null) {
                    retriever.getFrameAtIndex(i)
                } else {
                    retriever.getFrameAtTime(timestamps[i], MediaMetadataRetriever.OPTION_CLOSEST)
                } ?: throw IOException("$label: frame $i could not be decoded")
                try {
                    FrameDecoder.fromBitmap(bitmap, rotation)
                } finally {
                    bitmap.recycle()
                }
            }, { retriever.release() })
        }

        /** The bundled frame sequence at [fps]. */
        fun frames(context: Context, paths: List<String>, fps: Double): PacedSource {
            val pacer = VideoPacer.constantRate(paths.size, fps)
            return PacedSource("bundled frames", LongArray(paths.size) { pacer.dueUs(it) }, { i ->
                FrameDecoder.decode({ context.assets.open(paths[i]) }, paths[i])
            })
        }
    }
}

/**
 * Plays [source] by the contract's frame-dropping rule ([VideoPacer]): the next frame is the
 * newest one due when the previous one is on screen; frames skipped over are dropped. [process]
 * segments and draws one frame (it returns when the overlay is ready); [dropped] is told the
 * running count. Loops when [loop]; returns at the end otherwise.
 */
suspend fun play(source: PacedSource, loop: Boolean, process: suspend (InputFrame) -> Unit, dropped: (Long) -> Unit) {
    var total = 0L
    do {
        val pacer = VideoPacer(source.timestampsUs)
        val start = SystemClock.elapsedRealtimeNanos()
        while (true) {
            coroutineContext.ensureActive()
            val nowUs = (SystemClock.elapsedRealtimeNanos() - start) / 1000
            val index = pacer.next(nowUs)
            if (index < 0) break
            val waitUs = pacer.dueUs(index) - nowUs
            if (waitUs > 0) delay(waitUs / 1000)
            val t0 = SystemClock.elapsedRealtimeNanos()
            val gray = withContext(Dispatchers.IO) { source.decode(index) }
            val decodeMs = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6
            val due = start + pacer.dueUs(index) * 1000
            process(InputFrame("${source.label} · frame ${index + 1}", gray, due, decodeMs))
            dropped(total + pacer.dropped())
        }
        total += pacer.dropped()
    } while (loop)
}

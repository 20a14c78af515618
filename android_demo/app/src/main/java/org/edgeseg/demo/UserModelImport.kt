package org.edgeseg.demo

import android.app.Application
import android.net.Uri
import java.io.File
import java.io.IOException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Copies the model at [uri] into the app, checks that the app can run it (edgeseg metadata,
 * tensors that match it, preprocessing the core implements, an interpreter LiteRT can build),
 * and only then makes it the model used from now on. Returns null on success, else the
 * banner text; a failed import leaves the current model as it was.
 */
suspend fun importUserModel(app: Application, uri: Uri, name: String): String? = withContext(Dispatchers.IO) {
    val staged: File = try {
        ModelAssets.stageUserModel(app, uri)
    } catch (e: IOException) {
        return@withContext app.getString(R.string.error_model_copy, e.message ?: e.javaClass.simpleName)
    } catch (e: SecurityException) {
        return@withContext app.getString(R.string.error_model_copy, e.message ?: e.javaClass.simpleName)
    }
    try {
        SegmentationHelper(ModelAssets.map(staged)).use { it.configure(Backend.CPU, 1) }
    } catch (e: CancellationException) {
        staged.delete()
        throw e
    } catch (e: Exception) { // MetadataException, UnsupportedOperationException, LiteRT's IllegalArgumentException, IOException
        staged.delete()
        return@withContext app.getString(R.string.user_model_rejected, name, e.message ?: e.javaClass.simpleName)
    } catch (e: OutOfMemoryError) {
        staged.delete()
        return@withContext app.getString(R.string.user_model_rejected, name, "out of memory")
    }
    try {
        ModelAssets.commitUserModel(staged, name)
        null
    } catch (e: IOException) {
        staged.delete()
        app.getString(R.string.error_model_copy, e.message ?: e.javaClass.simpleName)
    }
}

package androidx.activity.result.contract

import android.net.Uri
import androidx.activity.result.PickVisualMediaRequest

class ActivityResultContracts private constructor() {
    open class PickVisualMedia : ActivityResultContract<PickVisualMediaRequest, Uri?>() {
        sealed interface VisualMediaType
        object ImageOnly : VisualMediaType
        object VideoOnly : VisualMediaType
        object ImageAndVideo : VisualMediaType
    }

    open class TakePicture : ActivityResultContract<Uri, Boolean>()

    open class OpenDocument : ActivityResultContract<Array<String>, Uri?>()

    class RequestPermission : ActivityResultContract<String, Boolean>()
}

package androidx.activity.result

import androidx.activity.result.contract.ActivityResultContracts.PickVisualMedia

fun PickVisualMediaRequest(
    mediaType: PickVisualMedia.VisualMediaType = PickVisualMedia.ImageAndVideo,
): PickVisualMediaRequest = throw RuntimeException()

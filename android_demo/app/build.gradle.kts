plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.edgeseg.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.edgeseg.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    buildFeatures {
        viewBinding = true
    }

    androidResources {
        // The model is memory-mapped straight out of the APK: it must be stored uncompressed.
        noCompress += "tflite"
        // The phantom clip is opened with AssetManager.openFd for MediaMetadataRetriever.
        noCompress += "mp4"
    }
}

dependencies {
    implementation(project(":core"))

    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.appcompat)
    implementation(libs.material)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.fragment.ktx)
    implementation(libs.androidx.lifecycle.viewmodel.ktx)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.kotlinx.coroutines.android)

    // Live camera (ImageAnalysis, KEEP_ONLY_LATEST) and EXIF orientation of photos.
    implementation(libs.androidx.camera.core)
    implementation(libs.androidx.camera.camera2)
    implementation(libs.androidx.camera.lifecycle)
    implementation(libs.androidx.exifinterface)

    // LiteRT (the renamed TensorFlow Lite runtime): Interpreter, XNNPACK, NNAPI delegate ...
    implementation(libs.litert)
    // ... and the GPU delegate. litert-gpu-api carries GpuDelegateFactory.Options, without which
    // GpuDelegate fails with NoClassDefFoundError on some setups.
    implementation(libs.litert.gpu)
    implementation(libs.litert.gpu.api)
}

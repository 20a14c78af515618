package org.edgeseg.demo

import android.content.Context
import android.content.pm.PackageManager

/** The installed version name (BuildConfig generation is off by default in AGP 8). */
object BuildConfigInfo {
    @Suppress("DEPRECATION") // getPackageInfo(String, int): the flags overload needs API 33
    fun versionName(context: Context): String = try {
        context.packageManager.getPackageInfo(context.packageName, 0).versionName ?: "?"
    } catch (e: PackageManager.NameNotFoundException) {
        "?"
    }
}

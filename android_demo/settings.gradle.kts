// edgeseg Android demo: a Kotlin app (:app) on top of a plain-Java core (:core).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google() // LiteRT (com.google.ai.edge.litert) is published on Google's Maven
        mavenCentral()
    }
}

rootProject.name = "edgeseg-android"
include(":app", ":core")

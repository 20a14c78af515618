#!/usr/bin/env bash
# Compiles every .kt file under android_demo/app with kotlinc at the version the Gradle build pins
# (gradle/libs.versions.toml), against the real core classes, a real kotlinx-coroutines jar and
# small stubs of the Android/AndroidX/CameraX/LiteRT signatures the app uses, plus R and
# view-binding classes generated from the app's own res/ files. A type error fails the step.
#
# Not a build: no resources are packaged and no dex is made; the stubs only carry signatures.
# kotlinc comes from the npm package `kotlin-compiler` (the official release zip, repackaged),
# cached under android_demo/build/ (git-ignored). Exit 0 = all compiled, 1 = compile error,
# 2 = setup error (no Java/npm, no network on a cold cache).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"                 # android_demo/
tools="$here/tools"
cache="$here/build/check-kotlin"
stubs_src="$tools/kotlin-stubs"
app_src="$here/app/src/main"

fail_setup() { echo "check-kotlin: $*" >&2; exit 2; }
command -v javac >/dev/null || fail_setup "javac not found (needs a JDK 17)"

version="$(sed -n 's/^kotlin *= *"\([^"]*\)".*/\1/p' "$here/gradle/libs.versions.toml")"
[ -n "$version" ] || fail_setup "no kotlin version in gradle/libs.versions.toml"
kotlin_home="$cache/kotlinc-$version"
mkdir -p "$cache"

# 1. kotlinc at the pinned version (npm verifies the tarball's integrity against the registry).
if [ ! -x "$kotlin_home/bin/kotlinc" ]; then
    command -v npm >/dev/null || fail_setup "npm not found (needed once to fetch kotlinc $version)"
    tmp="$(mktemp -d "$cache/fetch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "check-kotlin: fetching kotlinc $version (npm package kotlin-compiler, ~86 MB, once)"
    (cd "$tmp" && npm pack --silent "kotlin-compiler@$version" >/dev/null) \
        || fail_setup "npm pack kotlin-compiler@$version failed"
    tar -xzf "$tmp/kotlin-compiler-$version.tgz" -C "$tmp"
    chmod +x "$tmp/package/bin/"*
    rm -rf "$kotlin_home"
    mv "$tmp/package" "$kotlin_home"
    rm -rf "$tmp"
    trap - EXIT
fi
kotlinc="$kotlin_home/bin/kotlinc"
# The compiler distribution's own kotlinx-coroutines-core-jvm (a real release, see its
# META-INF/kotlinx_coroutines_core.version); the app pins a newer one for the APK.
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
[ -f "$coroutines" ] || fail_setup "$coroutines missing from the kotlinc distribution"
coroutines_version="$(unzip -p "$coroutines" META-INF/kotlinx_coroutines_core.version 2>/dev/null || echo '?')"
export JAVA_OPTS="${JAVA_OPTS:--Xmx1g -XX:+UseSerialGC}"
kotlinc_flags=(-jvm-target 17 -no-reflect -nowarn -language-version "${version%.*}")

# 0. The committed Gradle wrapper jar is the one its properties file names (its SHA-256).
props="$here/gradle/wrapper/gradle-wrapper.properties"
want_jar="$(sed -n 's/^# *\([0-9a-f]\{64\}\) *$/\1/p' "$props" | head -1)"
have_jar="$(sha256sum "$here/gradle/wrapper/gradle-wrapper.jar" | cut -d' ' -f1)"
if [ -z "$want_jar" ] || [ "$want_jar" != "$have_jar" ]; then
    echo "check-kotlin: gradle-wrapper.jar SHA-256 $have_jar is not the $want_jar named in $props" >&2
    exit 1
fi

start=$(date +%s)

# 2. Core classes (the real ones, javac --release 17 as the core's own tests do).
core_out="$cache/core-classes"
rm -rf "$core_out" && mkdir -p "$core_out"
find "$here/core/src/main/java" -name '*.java' > "$cache/core-sources.txt"
javac --release 17 -nowarn -d "$core_out" @"$cache/core-sources.txt"

# 3. Stubs: Java stubs (javac) then Kotlin stubs of Kotlin-only APIs (extension functions),
#    rebuilt only when a stub source changed.
stub_hash="$(find "$stubs_src" -type f \( -name '*.java' -o -name '*.kt' \) -print0 | sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)-$version"
stub_out="$cache/stubs-$stub_hash"
if [ ! -d "$stub_out" ]; then
    rm -rf "$cache"/stubs-* && mkdir -p "$stub_out.tmp"
    find "$stubs_src/java" -name '*.java' > "$cache/stub-sources.txt"
    javac --release 17 -nowarn -cp "$kotlin_home/lib/kotlin-stdlib.jar" -d "$stub_out.tmp" \
        @"$cache/stub-sources.txt"
    mapfile -t kt_stubs < <(find "$stubs_src/kotlin" -name '*.kt' | sort)
    if [ "${#kt_stubs[@]}" -gt 0 ]; then
        if ! "$kotlinc" "${kotlinc_flags[@]}" -cp "$stub_out.tmp:$coroutines" -d "$stub_out.tmp" \
            "${kt_stubs[@]}" > "$cache/stubs.log" 2>&1; then
            grep -v '^warning: ' "$cache/stubs.log" >&2 || true
            rm -rf "$stub_out.tmp"
            fail_setup "the Kotlin stubs do not compile"
        fi
    fi
    mv "$stub_out.tmp" "$stub_out"
fi

# 4. R and view-binding classes from the app's res/ (ids, strings, layouts as AGP names them).
gen="$cache/generated"
rm -rf "$gen" "$cache/gen-classes" && mkdir -p "$gen" "$cache/gen-classes"
python3 "$tools/gen_r_stubs.py" --res "$app_src/res" --package org.edgeseg.demo --out "$gen"
find "$gen" -name '*.java' > "$cache/gen-sources.txt"
javac --release 17 -nowarn -cp "$stub_out" -d "$cache/gen-classes" @"$cache/gen-sources.txt"

# 5. The app: every .kt file under app/.
mapfile -t app_kt < <(find "$here/app" -name '*.kt' -not -path '*/build/*' | sort)
[ "${#app_kt[@]}" -gt 0 ] || fail_setup "no .kt files under $here/app"
app_out="$cache/app-classes"
rm -rf "$app_out" && mkdir -p "$app_out"
log="$cache/kotlinc.log"
set +e
"$kotlinc" "${kotlinc_flags[@]}" -cp "$core_out:$stub_out:$cache/gen-classes:$coroutines" \
    -d "$app_out" "${app_kt[@]}" > "$log" 2>&1
rc=$?
set -e
grep -v '^warning: ' "$log" || true
secs=$(( $(date +%s) - start ))
if [ "$rc" -ne 0 ]; then
    echo "check-kotlin: FAILED: ${#app_kt[@]} .kt files with kotlinc $version (exit $rc, ${secs} s)" >&2
    exit 1
fi
# 6. minSdk guard: java.nio's covariant overrides (ByteBuffer.position(int) returning ByteBuffer,
#    flip, clear, rewind, ...) exist on Android only from API 34; minSdk is 24. Call them via
#    Buffer, as `(buffer as Buffer).clear()`.
mapfile -t app_classes < <(find "$app_out" -name '*.class')
covariant="$(javap -c -p "${app_classes[@]}" | grep -E \
    'Method java/nio/[A-Z][a-z]+Buffer\.(position|limit|flip|clear|rewind|mark|reset):\(I?\)Ljava/nio/[A-Z][a-z]+Buffer;' || true)"
if [ -n "$covariant" ]; then
    echo "$covariant" >&2
    echo "check-kotlin: FAILED: the app calls java.nio Buffer methods that Android lacks below API 34: cast to java.nio.Buffer" >&2
    exit 1
fi
classes=${#app_classes[@]}
echo "check-kotlin: ${#app_kt[@]} .kt files compiled with kotlinc $version against the core," \
    "kotlinx-coroutines $coroutines_version and stubs: $classes classes, ${secs} s"

#!/usr/bin/env bash
# Compile and run the plain-Java core's JUnit 5 tests with javac + the JUnit console launcher,
# no Gradle or Android SDK needed. Installs Debian's junit5 package if the launcher is missing.
#
#   android_demo/core/run-tests.sh            # summary + failures
#   JUNIT_DETAILS=tree android_demo/core/run-tests.sh   # every test
#
# Exit status: 0 all passed, 1 a test failed, 2 setup/compile failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build/run-tests"
DETAILS="${JUNIT_DETAILS:-summary}"

find_launcher() {
    local jar
    for jar in /usr/share/java/junit-platform-console-standalone.jar \
               /usr/share/java/junit-platform-console-standalone-*.jar; do
        [ -f "$jar" ] && { echo "$jar"; return 0; }
    done
    if command -v dpkg >/dev/null 2>&1 && dpkg -s junit5 >/dev/null 2>&1; then
        jar="$(dpkg -L junit5 | grep -E '/junit-platform-console-standalone[^/]*\.jar$' | head -n 1)"
        [ -n "$jar" ] && [ -f "$jar" ] && { echo "$jar"; return 0; }
    fi
    return 1
}

if ! LAUNCHER="$(find_launcher)"; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "run-tests.sh: JUnit console launcher not found and no apt-get: install JUnit 5's" \
             "junit-platform-console-standalone jar (or run: cd android_demo && gradle :core:test)" >&2
        exit 2
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "run-tests.sh: need root to apt-get install junit5" >&2; exit 2
        fi
    fi
    echo "run-tests.sh: installing junit5 (Debian package) ..."
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq junit5 >/dev/null
    LAUNCHER="$(find_launcher)" || { echo "run-tests.sh: junit5 installed but no launcher jar" >&2; exit 2; }
fi

command -v javac >/dev/null 2>&1 || { echo "run-tests.sh: javac not found (need JDK 17+)" >&2; exit 2; }

start=$(date +%s.%N)
rm -rf "$BUILD"
mkdir -p "$BUILD/main" "$BUILD/test"
# --release 17: the core targets Java 17 language level; -Werror keeps it warning-free.
find "$HERE/src/main/java" -name '*.java' -print0 | sort -z | \
    xargs -0 javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$BUILD/main" || exit 2
# Guard: the main sources must also compile against the Java 8 API (--release 8), because the
# app runs them on Android API 24, which lacks later APIs (List.of, String.repeat, ...).
mkdir -p "$BUILD/java8"
find "$HERE/src/main/java" -name '*.java' -print0 | sort -z | \
    xargs -0 javac --release 8 -encoding UTF-8 -d "$BUILD/java8" || {
        echo "run-tests.sh: core uses a Java 9+ API or language feature Android API 24 may lack" >&2
        exit 2; }
find "$HERE/src/test/java" -name '*.java' -print0 | sort -z | \
    xargs -0 javac --release 17 -Xlint:all,-processing -encoding UTF-8 \
        -cp "$BUILD/main:$LAUNCHER" -d "$BUILD/test" || exit 2
cp -R "$HERE/src/test/resources/." "$BUILD/test/"
compiled=$(date +%s.%N)

set +e
(cd "$HERE" && java -jar "$LAUNCHER" \
    --class-path "$BUILD/main:$BUILD/test" \
    --scan-class-path "$BUILD/test" \
    --disable-banner --fail-if-no-tests --details="$DETAILS")
status=$?
set -e
end=$(date +%s.%N)
printf 'run-tests.sh: compile %.1fs, tests %.1fs, exit %d (launcher %s)\n' \
    "$(echo "$compiled - $start" | bc)" "$(echo "$end - $compiled" | bc)" "$status" "$LAUNCHER"
exit "$status"

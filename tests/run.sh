#!/usr/bin/env bash
# Set up and run the whole test suite: lint, the Android core's Java tests, then pytest.
# Usage: bash tests/run.sh [extra pytest args]   (the README's second command; .ci/run calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then  # Debian ships venv's ensurepip separately
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      rm -rf .venv
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      "$PY" -m venv .venv
    else
      echo "python3 -m venv failed: install python3-venv (Debian/Ubuntu) and run this again" >&2
      exit 2
    fi
  fi
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e ".[train,dev,video,dicom,kaggle]"

# Debian packages the tests use: Chromium renders the parity report, JUnit 5 runs the Java core.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/java/junit-platform-console-standalone.jar ] || need+=(junit5)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v npm >/dev/null 2>&1 || need+=(npm)  # web_demo/setup.sh: npm ci of LiteRT.js
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== ruff"
.venv/bin/ruff check .

if [ -x android_demo/core/run-tests.sh ] || [ -f android_demo/core/run-tests.sh ]; then
  echo "== Java core tests (android_demo/core)"
  bash android_demo/core/run-tests.sh
fi

if [ -f android_demo/tools/check-kotlin.sh ]; then
  echo "== Kotlin sources compile (android_demo/app)"
  bash android_demo/tools/check-kotlin.sh
fi

if [ -f web_demo/setup.sh ]; then
  echo "== web demo dependencies (npm ci from the lockfile)"
  bash web_demo/setup.sh
fi

echo "== pytest"
.venv/bin/python -m pytest -q "$@"

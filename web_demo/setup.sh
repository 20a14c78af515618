#!/usr/bin/env bash
# Install the web app's npm packages (LiteRT.js) exactly as package-lock.json pins them.
# Usage: bash web_demo/setup.sh   (tests/run.sh calls it; needs Node.js >= 18 with npm)
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "web_demo: node/npm not found: skipping npm ci (the browser tests will be skipped); install Node.js >= 18 to run them"
  exit 0
fi
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  echo "web_demo: npm packages already installed"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "web_demo: npm packages installed ($(node -p 'require("./package-lock.json").packages["node_modules/@litertjs/core"].version') @litertjs/core)"

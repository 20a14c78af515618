#!/usr/bin/env bash
# Install the web app's npm packages (LiteRT.js) exactly as package-lock.json pins them.
# Usage: bash web_demo/setup.sh   (tests/run.sh calls it; needs Node.js >= 18 with npm)
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "web_demo: node/npm not found: skipping npm ci (the browser tests will be skipped); install Node.js >= 18 to run them"
  exit 0
fi
# Already installed at the locked versions (npm's hidden lockfile lists the same packages)?
if node -e '
  const fs = require("fs");
  const want = require("./package-lock.json").packages;
  const have = require("./node_modules/.package-lock.json").packages;
  const ok = Object.keys(want).filter((k) => k).every((k) => have[k] && have[k].version === want[k].version
    && fs.existsSync(k + "/package.json"));
  process.exit(ok ? 0 : 1);' 2>/dev/null; then
  echo "web_demo: npm packages already installed"
  exit 0
fi
if ! npm ci --no-audit --no-fund --loglevel=error; then
  echo "web_demo: npm ci failed (no registry access?): the browser tests will be skipped" >&2
  exit 0
fi
echo "web_demo: npm packages installed ($(node -p 'require("./package-lock.json").packages["node_modules/@litertjs/core"].version') @litertjs/core)"

#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, serve and test the project. Idempotent.
# Debian packages need root (or sudo); npm packages come from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang + compiler-rt: libFuzzer and the sanitizers (scripts/fuzz.sh); firefox-esr, webkit2gtk-driver
# (WebKitWebDriver + MiniBrowser) and xvfb: the widget's tests in Firefox and WebKit.
packages=(emscripten libeigen3-dev nlohmann-json3-dev chromium cmake g++ libgtest-dev googletest libbenchmark-dev
          clang libclang-rt-14-dev firefox-esr webkit2gtk-driver xvfb)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

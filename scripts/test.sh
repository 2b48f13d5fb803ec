#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine (system packages
# included), then runs the whole suite. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# sox is the reference mu-law decoder and resampler; espeak-ng makes real speech for calls;
# chromium (Debian's, at /usr/bin/chromium) runs the browser app's tests through playwright-core;
# lame encodes the MP3s that stand in for ElevenLabs' post-call audio.
missing=()
for tool in sox espeak-ng chromium lame; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci builds sqlite3 from source where no prebuilt binary can be fetched (about two minutes).
npm ci --no-audit --no-fund
npm test

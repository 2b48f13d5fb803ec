#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine (system packages
# included), then runs the whole suite. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# sox is the reference mu-law decoder and resampler; espeak-ng makes real speech for calls;
# chromium (Debian's, at /usr/bin/chromium) runs the browser app's tests through playwright-core;
# lame encodes the MP3s that stand in for ElevenLabs' post-call audio. postgresql: the store and
# queue tests also run against a real PostgreSQL (a throwaway server, see below).
missing=()
for tool in sox espeak-ng chromium lame; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
# Debian keeps the server binaries out of PATH (/usr/lib/postgresql/<version>/bin).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci builds sqlite3 from source where no prebuilt binary can be fetched (about two minutes).
npm ci --no-audit --no-fund
# A PostgreSQL server of the run's own (a temp dir and a free port; stopped and removed however the
# run ends) for the tests' Postgres variants, found through TEST_DATABASE_URL.
./scripts/with-postgres.sh npm test

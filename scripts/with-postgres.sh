#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL server, for the tests' Postgres variants:
#   ./scripts/with-postgres.sh npm test
#   ./scripts/with-postgres.sh npm run test:one test/store/calls.test.ts
# initdb into a fresh temp dir, start on a free loopback port (its unix socket in the temp dir,
# so it never meets a system cluster), export TEST_DATABASE_URL (the admin URL each test file
# creates and drops its own databases through), run the command, then stop the server and
# remove the dir however the command ends. As root the server runs as the `postgres` user
# (Debian's package creates it): PostgreSQL refuses to run as root.
# With TEST_DATABASE_URL already set, that server is used and nothing is started.
set -euo pipefail

if [ $# -eq 0 ]; then echo "usage: $0 command [args...]" >&2; exit 2; fi
if [ -n "${TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

# Debian/Ubuntu keep the server binaries out of PATH, one folder per major version.
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  if command -v initdb >/dev/null 2>&1; then bindir="$(dirname "$(command -v initdb)")"; else
    echo "PostgreSQL server binaries (initdb, pg_ctl) not found; ./scripts/test.sh installs them (apt: postgresql)" >&2
    exit 1
  fi
fi

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "running as root needs a 'postgres' user to run the server (apt's postgresql package creates it)" >&2
    exit 1
  fi
  as_pg=(runuser -u postgres --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/cv-pg.XXXXXX")"
[ ${#as_pg[@]} -gt 0 ] && chown postgres: "$dir"
data="$dir/data"
started=""
cleanup() {
  if [ -n "$started" ]; then "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# trust on loopback and the private socket only: a test server with no data worth a password.
# No durability (fsync off): a crash loses nothing the tests need.
"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# A port picked free can be taken before the server binds it: try a few.
for attempt in 1 2 3; do
  port="$(free_port)"
  if "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null; then
    started=1
    break
  fi
  echo "PostgreSQL did not start on port $port (attempt $attempt):" >&2
  tail -n 5 "$dir/server.log" >&2 || true
done
[ -n "$started" ] || exit 1

for _ in $(seq 1 60); do
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
  sleep 0.5
done
"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || { echo "PostgreSQL is not ready" >&2; cat "$dir/server.log" >&2; exit 1; }

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') for the tests at 127.0.0.1:$port"
# In the background so that a signal to this script (a CI timeout, say) is handled at once, not
# only after the command ends: the command is told, and the server still stopped and removed.
"$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; exit 143' TERM
set +e
wait "$child"
rc=$?
set -e
exit $rc

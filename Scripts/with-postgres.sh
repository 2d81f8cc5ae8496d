#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb in a temporary
# folder, a socket there too, TCP on 127.0.0.1 only, fsync off (the data is
# thrown away). KEYGATE_TEST_POSTGRES names it for the command; the cluster
# is stopped and removed on every exit. pg_stat_statements is loaded, so
# that the benchmark can count the statements keygate sends.
#
#   Scripts/with-postgres.sh swift test
#
# Needs Debian's postgresql package (.ci/run installs it when missing).
set -euo pipefail

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
if [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "with-postgres: no initdb/pg_ctl found (install Debian's postgresql package)" >&2
  exit 1
fi

folder=$(mktemp -d /tmp/keygate-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to its own user.
  chown postgres "$folder"
  as_owner=(runuser -u postgres --)
fi

stop() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$folder/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$folder"
}
trap stop EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$bindir/initdb" -U keygate --auth=trust --no-sync -D "$folder/data" >"$folder/initdb.log" 2>&1 ||
  { cat "$folder/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -w -D "$folder/data" -l "$folder/server.log" \
  -o "-k $folder -h 127.0.0.1 -p $port -c fsync=off -c max_connections=400 -c shared_preload_libraries=pg_stat_statements" start >/dev/null ||
  { cat "$folder/server.log" >&2; exit 1; }

export KEYGATE_TEST_POSTGRES="postgresql://keygate@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"

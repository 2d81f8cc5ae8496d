#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb in a temporary
# folder, a socket there too, TCP on 127.0.0.1 only, fsync off (the data is
# thrown away). KEYGATE_TEST_POSTGRES names it for the command; the cluster
# is stopped and removed on every exit. pg_stat_statements is loaded, so
# that the benchmark can count the statements keygate sends.
#
# Where PgBouncer is installed, one runs in front of the cluster too, in
# transaction mode with two server connections per database (so that
# clients share them), and KEYGATE_TEST_PGBOUNCER names it.
#
#   Scripts/with-postgres.sh swift test
#
# Needs Debian's postgresql package, and pgbouncer for the tests through a
# pooler (.ci/run installs both when missing).
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
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to its own user.
  chown postgres "$folder"
  as_owner=(runuser -u postgres --)
fi

stop() {
  if [ -f "$folder/pgbouncer.pid" ]; then kill "$(cat "$folder/pgbouncer.pid")" 2>/dev/null || true; fi
  # A command that stopped the server's processes (partition-check.py --stop)
  # and was cut off: a stopped postmaster would never take the stop below.
  if [ -f "$folder/data/postmaster.pid" ]; then
    postmaster=$(head -1 "$folder/data/postmaster.pid")
    kill -CONT "$postmaster" $(pgrep -P "$postmaster") 2>/dev/null || true
  fi
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

# Debian puts it in /usr/sbin, which a user's PATH may lack.
pgbouncer=$(command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true)
if [ -n "$pgbouncer" ]; then
  bouncer_port=$(free_port)
  # Every database name reaches the cluster's database of that name; a
  # client left waiting for a server connection gives up after 20 s
  # rather than hang a test.
  cat >"$folder/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $folder/pgbouncer.users
pool_mode = transaction
default_pool_size = 2
max_client_conn = 1000
query_wait_timeout = 20
logfile = $folder/pgbouncer.log
pidfile = $folder/pgbouncer.pid
INI
  echo '"keygate" ""' >"$folder/pgbouncer.users"
  if [ "$(id -u)" = 0 ]; then chown postgres "$folder/pgbouncer.ini" "$folder/pgbouncer.users"; fi
  "${as_owner[@]}" "$pgbouncer" -d "$folder/pgbouncer.ini" || { cat "$folder/pgbouncer.log" >&2; exit 1; }
  # Up once it accepts a connection.
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $bouncer_port), 0.1)" 2>/dev/null && break
    sleep 0.1
  done
  export KEYGATE_TEST_PGBOUNCER="postgresql://keygate@127.0.0.1:$bouncer_port/postgres"
  echo "with-postgres: $("$pgbouncer" --version | head -1) on 127.0.0.1:$bouncer_port, transaction mode" >&2
fi
"$@"

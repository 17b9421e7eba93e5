#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server binaries, a data directory
# and a unix socket under DIR, no TCP port (so runs never clash), trust authentication for the socket.
#
#   scripts/pg-test-cluster.sh start DIR     initdb (first time) and start; prints the connection URL
#   scripts/pg-test-cluster.sh stop DIR      fast shutdown
#   scripts/pg-test-cluster.sh kill DIR      immediate shutdown (a crash: no checkpoint)
#   scripts/pg-test-cluster.sh url DIR       prints the connection URL
#   scripts/pg-test-cluster.sh destroy DIR   stops it (if running) and removes DIR
#
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user, who owns DIR.
# PG_BINDIR overrides where initdb and pg_ctl are found (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

cmd=${1:?usage: pg-test-cluster.sh start|stop|kill|url|destroy DIR}
dir=${2:?usage: pg-test-cluster.sh start|stop|kill|url|destroy DIR}
dir=$(realpath -m "$dir")

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "pg-test-cluster: no PostgreSQL server binaries found (apt-get install -y postgresql, or set PG_BINDIR)" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() {
  echo "postgres://postgres@/postgres?host=$dir/sock"
}

running() {
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

case "$cmd" in
  start)
    mkdir -p "$dir/sock"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir/data"
      if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! running; then
      # fsync and synchronous_commit stay on (the defaults): tests and benchmarks measure durable commits.
      as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir/sock -c listen_addresses= -c max_connections=300 -c shared_buffers=128MB" start >/dev/null ||
        { tail -n 30 "$dir/server.log" >&2; exit 1; }
    fi
    url
    ;;
  stop)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
    ;;
  kill)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null; fi
    ;;
  url)
    url
    ;;
  destroy)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
  *)
    echo "pg-test-cluster: unknown command $cmd" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# What `cargo bench -p postamt --bench outbox` needs besides Rust, installed only when missing:
#
#   - Postfix's `smtp-sink` (the SMTP server the benchmark delivers to) and `smtp-source`
#     (the load generator that gives the ceiling), from the Debian package `postfix`;
#   - the PostgreSQL client (`psql`, `pg_isready`) and a running local PostgreSQL.
#
# Postfix is preseeded as "No configuration", so installing it starts no system mail server;
# if one runs anyway, it is stopped. The benchmark runs this script itself; running it by
# hand first is fine (it is idempotent).
set -euo pipefail

bench_say() { printf '==> %s\n' "$*" >&2; }
bench_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

bench_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        bench_die "need root (or sudo) to run: $*"
    fi
}

apt_updated=""
bench_apt_install() {
    command -v apt-get >/dev/null 2>&1 || bench_die "missing $* and no apt-get to install it"
    if [ -z "$apt_updated" ]; then
        bench_say "apt-get update"
        bench_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2
        apt_updated=1
    fi
    bench_say "installing $*"
    bench_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}

if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
    # No system MTA configuration: the benchmark only needs the two test programs.
    printf 'postfix postfix/main_mailer_type select No configuration\n' | bench_as_root debconf-set-selections
    bench_apt_install postfix
    [ -x /usr/sbin/smtp-sink ] || bench_die "postfix is installed but /usr/sbin/smtp-sink is missing"
fi
# Never leave a system Postfix listening on port 25 because of us.
if bench_as_root postfix status >/dev/null 2>&1; then
    bench_say "stopping the system Postfix (only smtp-sink/smtp-source are needed)"
    bench_as_root postfix stop >/dev/null 2>&1 || true
fi

if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    bench_apt_install postgresql-client
fi
url="${POSTAMT_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
if ! pg_isready -q -d "$url" -t 3; then
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    # Starts the local cluster if it is installed (same logic as scripts/test).
    # shellcheck source=system-deps.sh
    source "$repo/scripts/lib/system-deps.sh"
    POSTAMT_TEST_PG_URL="$url" postamt_ensure_postgres >&2
fi
bench_say "bench dependencies present (smtp-sink, smtp-source, psql, PostgreSQL)"

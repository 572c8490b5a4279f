#!/usr/bin/env bash
# System prerequisites of Postamt on Debian 12, installed only when missing.
#
#   scripts/lib/system-deps.sh run    # to build and run: C toolchain, pkg-config, SQLite and libpq headers
#   scripts/lib/system-deps.sh test   # also Chromium + chromedriver, python3 with venv, the
#                                     # PostgreSQL client, a running PostgreSQL, cargo-nextest
#
# Sourcing this file only defines the functions (postamt_system_deps, postamt_ensure_postgres,
# postamt_have_nextest); running it runs postamt_system_deps with its arguments.
set -euo pipefail

postamt_say() { printf '==> %s\n' "$*"; }
postamt_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root (directly, or through sudo when not root).
postamt_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        postamt_die "need root (or sudo) to run: $*"
    fi
}

postamt_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Installs the Debian packages given that are not installed yet; `apt-get update` runs at most
# once per shell session and only when something is missing.
postamt_apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        postamt_pkg_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || postamt_die "missing packages (${missing[*]}) and no apt-get to install them"
    if [ -z "${POSTAMT_APT_UPDATED:-}" ]; then
        postamt_say "apt-get update (missing: ${missing[*]})"
        postamt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        export POSTAMT_APT_UPDATED=1
    fi
    postamt_say "installing ${missing[*]}"
    postamt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" </dev/null >/dev/null
}

# The interpreter that makes the test venv: python3 from PATH when it can create venvs with
# pip (pyenv's can), else Debian's /usr/bin/python3 (which needs python3-venv).
postamt_venv_python() {
    local py
    py="$(command -v python3 || true)"
    if [ -n "$py" ] && [ "$(readlink -f "$py")" != "$(readlink -f /usr/bin/python3 2>/dev/null)" ] &&
        "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        printf '%s\n' "$py"
    else
        printf '%s\n' /usr/bin/python3
    fi
}

# Ensures PostgreSQL answers at POSTAMT_TEST_PG_URL (default: local, 127.0.0.1:5432); starts
# the local cluster when it does not.
postamt_ensure_postgres() {
    local url="${POSTAMT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
    if pg_isready -q -d "$url" -t 3; then
        postamt_say "PostgreSQL is up"
        return 0
    fi
    case "$url" in
    *@127.0.0.1:5432* | *@localhost:5432* | *@127.0.0.1 | *@localhost) ;;
    *) postamt_die "PostgreSQL at $url does not answer (POSTAMT_TEST_PG_URL)" ;;
    esac
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$version" ] || postamt_die "PostgreSQL does not answer at 127.0.0.1:5432 and no local cluster is installed"
    postamt_say "starting PostgreSQL $version"
    postamt_as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        postamt_die "could not start PostgreSQL $version (pg_ctlcluster --skip-systemctl-redirect $version main start)"
    local i
    for i in $(seq 1 60); do
        pg_isready -q -d "$url" -t 1 && {
            postamt_say "PostgreSQL is up"
            return 0
        }
        sleep 0.5
    done
    postamt_die "PostgreSQL was started but does not answer at $url"
}

# Succeeds when `cargo nextest` is available, installing it (once) if it is not.
postamt_have_nextest() {
    cargo nextest --version >/dev/null 2>&1 && return 0
    postamt_say "installing cargo-nextest (takes several minutes)"
    cargo install --locked cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest >/dev/null 2>&1 || return 1
    cargo nextest --version >/dev/null 2>&1
}

postamt_system_deps() {
    local purpose="${1:-run}"
    case "$purpose" in
    run | test) ;;
    *) postamt_die "usage: system-deps.sh [run|test]" ;;
    esac
    command -v dpkg-query >/dev/null 2>&1 || postamt_die "this script expects Debian (dpkg/apt)"
    command -v cargo >/dev/null 2>&1 ||
        postamt_die "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"

    local pkgs=(build-essential pkg-config libsqlite3-dev libpq-dev libssl-dev)
    if [ "$purpose" = test ]; then
        # openssl: the OAuth provider double (api/oauth/tests/servers) makes and checks RSA
        # keys with the command-line tool; minimal Debian images lack it.
        pkgs+=(chromium chromium-driver postgresql-client python3 openssl)
        if [ "$(postamt_venv_python)" = /usr/bin/python3 ]; then
            pkgs+=(python3-venv)
        fi
    fi
    postamt_apt_install "${pkgs[@]}"
    postamt_say "system packages present (${pkgs[*]})"

    if [ "$purpose" = test ]; then
        postamt_ensure_postgres
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    postamt_system_deps "$@"
fi

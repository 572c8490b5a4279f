#!/usr/bin/env bash
# The Python tools of the test command (openapi-spec-validator, aiosmtpd for the SMTP tests),
# pinned in scripts/lib/python-requirements.txt, in a venv at
# ${POSTAMT_CACHE:-$HOME/.cache/postamt}/venv. The venv is made or updated only when the
# requirements changed (a stamp holds their hash) or it no longer works; then it is made anew.
#
# Source it: `source scripts/lib/python-env.sh && postamt_python_env` exports
#   POSTAMT_VENV    the venv folder
#   POSTAMT_PYTHON  its python, with the packages above
# Running it directly sets the venv up and prints POSTAMT_PYTHON.
set -euo pipefail

postamt_python_env() {
    local here requirements venv stamp want python
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    requirements="$here/python-requirements.txt"
    # shellcheck source=system-deps.sh
    source "$here/system-deps.sh"
    [ -f "$requirements" ] || postamt_die "missing $requirements"

    venv="${POSTAMT_CACHE:-$HOME/.cache/postamt}/venv"
    stamp="$venv/.postamt-requirements.sha256"
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"

    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c 'import aiosmtpd, openapi_spec_validator' >/dev/null 2>&1; then
        postamt_say "Python tools up to date ($venv)"
    else
        python="$(postamt_venv_python)"
        [ -x "$python" ] || postamt_die "no python3 to make the venv with (scripts/lib/system-deps.sh test installs it)"
        # Made anew, so that it holds exactly the pinned set.
        postamt_say "creating the Python venv $venv with $python and the pinned tools"
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv" || postamt_die "could not create the venv (on Debian: apt-get install python3-venv)"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            -r "$requirements" </dev/null || postamt_die "pip could not install $requirements"
        printf '%s\n' "$want" >"$stamp"
    fi

    export POSTAMT_VENV="$venv"
    export POSTAMT_PYTHON="$venv/bin/python"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    postamt_python_env
    printf 'POSTAMT_PYTHON=%s\n' "$POSTAMT_PYTHON"
fi

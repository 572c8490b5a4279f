# shellcheck shell=bash
# Postamt's wasm toolchain: sourced by scripts/build-frontend (and any script that needs the
# frontend built). See shared notes "wasm-toolchain.md" for why it looks like this:
#
#   - rustup's toolchains have no wasm32 std and cannot fetch one, so the frontend is built with
#     Debian's rustc/cargo 1.96 ("-web" packages) and std is rebuilt from Debian's rust source
#     (`-Zbuild-std`, which needs RUSTC_BOOTSTRAP=1 on every build).
#   - wasm-bindgen-cli must match the `wasm-bindgen` version pinned in Cargo.lock exactly.
#   - Debian's binaryen breaks wasm-bindgen output; npm's binaryen@132 works.
#
# Everything installed here lives outside the repository, in a per-machine cache:
#   ${POSTAMT_CACHE:-$HOME/.cache/postamt}/wasm-bindgen-<version>/bin/wasm-bindgen
#   ${POSTAMT_CACHE:-$HOME/.cache/postamt}/binaryen-132/node_modules/.bin/wasm-opt
#   ${POSTAMT_CACHE:-$HOME/.cache/postamt}/terser-<version>/node_modules/.bin/terser
#
# Functions (each returns non-zero on failure; none changes the caller's shell options):
#   wasm_toolchain_ensure          all of the below; sets WASM_BINDGEN and WASM_OPT
#   wasm_toolchain_ensure_apt      Debian packages (apt-get update once, only when installing)
#   wasm_toolchain_ensure_bindgen  wasm-bindgen-cli at the Cargo.lock version; sets WASM_BINDGEN
#   wasm_toolchain_ensure_binaryen npm binaryen@132.0.0; sets WASM_OPT
#   wasm_toolchain_ensure_terser   npm terser (minifies the JS glue); sets TERSER
#   wasm_toolchain_cargo ARGS...   Debian's cargo set up for a wasm32 build with build-std

POSTAMT_ROOT="${POSTAMT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
POSTAMT_CACHE="${POSTAMT_CACHE:-${HOME:-/root}/.cache/postamt}"
# brotli, zopfli: the page's precompressed .br and .gz copies (scripts/build-frontend).
WASM_TOOLCHAIN_APT_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 brotli zopfli)
WASM_TOOLCHAIN_BINARYEN_VERSION="132.0.0"
WASM_TOOLCHAIN_TERSER_VERSION="5.51.4"
WASM_TOOLCHAIN_TARGET="wasm32-unknown-unknown"
WASM_TOOLCHAIN_CARGO="/usr/bin/cargo"
WASM_TOOLCHAIN_RUSTC="/usr/bin/rustc"

_wt_log() { printf '[wasm-toolchain] %s\n' "$*" >&2; }
_wt_die() { printf '[wasm-toolchain] error: %s\n' "$*" >&2; return 1; }

# Runs a command as root (directly when we are root, else through sudo).
_wt_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _wt_die "need root (or sudo) to run: $*"
    fi
}

_wt_apt_updated=""
_wt_apt_install() {
    if [ -z "$_wt_apt_updated" ]; then
        _wt_log "apt-get update"
        _wt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        _wt_apt_updated=1
    fi
    _wt_log "apt-get install $*"
    _wt_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null || return 1
}

_wt_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Runs "$@" while holding an exclusive lock named $1 in the cache (two builds at once must not
# install the same tool twice into the same folder).
_wt_locked() {
    local name="$1"
    shift
    mkdir -p "$POSTAMT_CACHE" || return 1
    (
        flock -x 9 || exit 1
        "$@"
    ) 9>"$POSTAMT_CACHE/.lock-$name"
}

wasm_toolchain_ensure_apt() {
    local missing=() pkg
    for pkg in "${WASM_TOOLCHAIN_APT_PACKAGES[@]}"; do
        _wt_pkg_installed "$pkg" || missing+=("$pkg")
    done
    # binaryen comes from npm, which needs Node.js.
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ "${#missing[@]}" -gt 0 ]; then
        _wt_log "installing Debian packages: ${missing[*]}"
        _wt_apt_install "${missing[@]}" || return 1
    fi
    [ -x "$WASM_TOOLCHAIN_CARGO" ] && [ -x "$WASM_TOOLCHAIN_RUSTC" ] ||
        _wt_die "$WASM_TOOLCHAIN_CARGO or $WASM_TOOLCHAIN_RUSTC missing after installing ${WASM_TOOLCHAIN_APT_PACKAGES[*]}" || return 1
    # rust-web-llvm's /usr/bin/rust-lld points at lld-22; a dangling link breaks wasm linking.
    [ -e /usr/bin/rust-lld ] || _wt_die "/usr/bin/rust-lld is missing or dangling (is lld-22 installed?)"
}

# The wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly).
wasm_toolchain_bindgen_version() {
    local lock="$POSTAMT_ROOT/Cargo.lock" versions
    [ -f "$lock" ] || { _wt_die "no Cargo.lock at $lock"; return 1; }
    versions="$(awk '
        /^\[\[package\]\]/ { name = "" }
        /^name = / { name = $3 }
        /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3 }
    ' "$lock" | sort -u)"
    case "$(printf '%s\n' "$versions" | grep -c .)" in
        1) printf '%s\n' "$versions" ;;
        0) _wt_die "wasm-bindgen is not in $lock (is postamt-frontend in the workspace?)" ;;
        *) _wt_die "several wasm-bindgen versions in $lock: $(echo $versions); the CLI can match only one" ;;
    esac
}

_wt_install_bindgen() {
    local version="$1" dir="$2"
    [ -x "$dir/bin/wasm-bindgen" ] && return 0 # installed by someone else while we waited
    local tmp="$dir.partial"
    rm -rf "$tmp"
    _wt_log "installing wasm-bindgen-cli $version into $dir (one-time, several minutes)"
    # No --locked: the registry reached here lacks a crate version the published lock pins.
    # A fixed target dir lets an interrupted install resume instead of starting over.
    env -u RUSTC_WRAPPER -u RUSTC_WORKSPACE_WRAPPER -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
        -u CARGO_BUILD_TARGET -u RUSTUP_TOOLCHAIN \
        RUSTC="$WASM_TOOLCHAIN_RUSTC" CARGO_TARGET_DIR="$POSTAMT_CACHE/cargo-install-target" \
        "$WASM_TOOLCHAIN_CARGO" install --quiet wasm-bindgen-cli --version "=$version" \
        --root "$tmp" --bin wasm-bindgen || { rm -rf "$tmp"; return 1; }
    "$tmp/bin/wasm-bindgen" --version | grep -qF " $version" ||
        { _wt_die "installed wasm-bindgen is not $version"; rm -rf "$tmp"; return 1; }
    rm -rf "$dir" && mv -T "$tmp" "$dir" || return 1
    rm -rf "$POSTAMT_CACHE/cargo-install-target"
}

wasm_toolchain_ensure_bindgen() {
    local version dir
    version="$(wasm_toolchain_bindgen_version)" || return 1
    dir="$POSTAMT_CACHE/wasm-bindgen-$version"
    if [ ! -x "$dir/bin/wasm-bindgen" ]; then
        _wt_locked "wasm-bindgen-$version" _wt_install_bindgen "$version" "$dir" || return 1
    fi
    WASM_BINDGEN="$dir/bin/wasm-bindgen"
}

# Installs the npm package $2 (name@version) into $1, which then has node_modules/.bin/$3.
_wt_install_npm() {
    local dir="$1" package="$2" bin="$3"
    [ -x "$dir/node_modules/.bin/$bin" ] && return 0
    local tmp="$dir.partial"
    rm -rf "$tmp" && mkdir -p "$tmp" || return 1
    _wt_log "installing npm $package into $dir"
    (
        cd "$tmp" &&
            npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
                npm install --no-save --loglevel=error --prefix "$tmp" "$package" >/dev/null
    ) || { rm -rf "$tmp"; return 1; }
    [ -x "$tmp/node_modules/.bin/$bin" ] ||
        { _wt_die "npm $package did not provide $bin"; rm -rf "$tmp"; return 1; }
    rm -rf "$dir" && mv -T "$tmp" "$dir"
}

wasm_toolchain_ensure_binaryen() {
    local dir="$POSTAMT_CACHE/binaryen-${WASM_TOOLCHAIN_BINARYEN_VERSION%%.*}"
    if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
        _wt_locked binaryen _wt_install_npm "$dir" "binaryen@$WASM_TOOLCHAIN_BINARYEN_VERSION" wasm-opt || return 1
    fi
    WASM_OPT="$dir/node_modules/.bin/wasm-opt"
}

# terser minifies wasm-bindgen's JS glue (a quarter smaller gzipped).
wasm_toolchain_ensure_terser() {
    local dir="$POSTAMT_CACHE/terser-$WASM_TOOLCHAIN_TERSER_VERSION"
    if [ ! -x "$dir/node_modules/.bin/terser" ]; then
        _wt_locked terser _wt_install_npm "$dir" "terser@$WASM_TOOLCHAIN_TERSER_VERSION" terser || return 1
    fi
    TERSER="$dir/node_modules/.bin/terser"
}

wasm_toolchain_ensure() {
    wasm_toolchain_ensure_apt &&
        wasm_toolchain_ensure_bindgen &&
        wasm_toolchain_ensure_binaryen &&
        wasm_toolchain_ensure_terser
}

# Debian's cargo for the wasm32 frontend build: Debian's rustc (rustup's cannot use Debian's
# std source), RUSTC_BOOTSTRAP for -Zbuild-std, and none of the caller's compiler overrides.
wasm_toolchain_cargo() {
    env -u RUSTC_WRAPPER -u RUSTC_WORKSPACE_WRAPPER -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
        -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR -u RUSTUP_TOOLCHAIN -u RUSTDOC \
        RUSTC="$WASM_TOOLCHAIN_RUSTC" RUSTC_BOOTSTRAP=1 \
        "$WASM_TOOLCHAIN_CARGO" "$@"
}

# Shared by scripts/test-services, scripts/with-keychain, scripts/test and .ci/run. Source it; it
# defines no behaviour of its own beyond these helpers and variables.
# shellcheck shell=bash

VSYNC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VSYNC_CI_DIR="$VSYNC_ROOT/.ci"
VSYNC_STATE_DIR="${VSYNC_STATE_DIR:-$VSYNC_CI_DIR/state}"
VSYNC_VENV="${VSYNC_VENV:-$VSYNC_CI_DIR/venv}"

# say MSG... : progress on stderr, so that stdout stays clean for `env`.
say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# now: wall-clock seconds with a fraction (bash 5's EPOCHREALTIME).
now() { printf '%s' "$EPOCHREALTIME"; }
# elapsed START [END]: seconds between two `now` values, one decimal.
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# use_default_target_dir: when CARGO_TARGET_DIR is unset, build in ~/.cache/vsync-target-<key>,
# kept between runs, where <key> names this checkout's path. One dir per checkout, because two
# checkouts sharing one break each other: a build of one replaces the binary the other's e2e
# tests run, and test binaries keep the source path they were compiled at (CARGO_MANIFEST_DIR),
# which a build in another checkout with older file times does not refresh.
use_default_target_dir() {
  [ -z "${CARGO_TARGET_DIR:-}" ] && [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache" 2>/dev/null || return 0
  local key
  key=$(printf '%s' "$VSYNC_ROOT" | sha256sum | cut -c1-12)
  export CARGO_TARGET_DIR="$HOME/.cache/vsync-target-$key"
}

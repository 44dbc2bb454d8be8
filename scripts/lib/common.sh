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

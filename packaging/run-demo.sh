#!/usr/bin/env bash
# Set up (if needed) and start ListBridge on a throw-away demo profile with the built-in emulators.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/packaging/bootstrap.sh"
exec "$here/.venv/bin/listbridge" --demo "$@"

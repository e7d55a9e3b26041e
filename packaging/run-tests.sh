#!/usr/bin/env bash
# Run the whole test suite with the real OS keyring (GNOME Keyring, unlocked in a private D-Bus
# session) and Qt offscreen. Warnings are errors (pyproject.toml). Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export QT_QPA_PLATFORM=offscreen
# A keyring folder of our own: a login keyring left by another password must not block the unlock.
keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
export KEYRING_HOME="$keyring_home"
dbus-run-session -- bash -c '
  eval "$(printf "listbridge-ci" | XDG_DATA_HOME="$KEYRING_HOME" gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
  .venv/bin/python -m pytest -p no:cacheprovider "$@"
' bash "$@"

"""Run ``listbridge`` (``connectors.cli.main``) in a child process with an in-memory keyring.

The test passes the keyring's entries in ``LISTBRIDGE_TEST_KEYRING`` (JSON), as the contract
suite's workers do: a child process cannot see the parent's in-memory keyring.

    python -m tests.connectors.ines_cli_worker --data-dir DIR ines sync ...
"""

from __future__ import annotations

import json
import os
import sys

KEYRING_ENV = "LISTBRIDGE_TEST_KEYRING"


def main(argv: list[str]) -> int:
    import keyring

    from connectors.cli import main as cli_main
    from tests.helpers.keyrings import MemoryKeyring

    backend = MemoryKeyring()
    for service, user, password in json.loads(os.environ.get(KEYRING_ENV, "[]")):
        backend.set_password(service, user, password)
    keyring.set_keyring(backend)
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m connectors.cleverreach.emulator``: the same as ``listbridge emulator cleverreach``."""

import sys

from connectors.cleverreach.emulator.cli import main

sys.exit(main())

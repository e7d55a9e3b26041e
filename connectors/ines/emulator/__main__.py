"""``python -m connectors.ines.emulator``: the emulator in the foreground."""

import sys

from connectors.ines.emulator.cli import main

sys.exit(main())

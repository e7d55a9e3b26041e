"""``python -m gui``: the same as the ``listbridge`` command."""

import sys

from gui.app import main

sys.exit(main())

"""``python -m connectors.dotmailer.emulator``: the emulator in the foreground."""

from connectors.dotmailer.emulator.cli import main

raise SystemExit(main())

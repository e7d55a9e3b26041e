"""ListBridge core: the local marketing store, secrets, import/export and the sync engine.

Nothing in this package imports Qt.
"""

__version__ = "0.1.0"
APP_NAME = "ListBridge"

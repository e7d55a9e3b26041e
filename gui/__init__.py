"""ListBridge's window: PySide6 over the store of ``core`` (entry point: ``gui.app.main``)."""

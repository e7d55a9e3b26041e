"""Small helpers for the GUI tests: finding dialogs, filling the store fast."""

from __future__ import annotations

from typing import Any

from core.clock import utcnow
from core.models.store import Contact, email_key
from core.store import default_owner


def find_dialog(window: Any, name: str) -> Any:
    """The visible top-level dialog called ``name`` (dialogs are opened with ``open()``)."""
    from PySide6.QtWidgets import QApplication, QDialog

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.objectName() == name and widget.isVisible():
            return widget
    return None


def child(parent: Any, cls: Any, name: str) -> Any:
    widget = parent.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} called {name!r}"
    return widget


def insert_contacts(count: int, city: str = "Berlin", prefix: str = "person") -> None:
    """Many contacts in a few statements (bypassing save_record, like a bulk import would)."""
    owner = default_owner()
    now = utcnow()
    rows = []
    for n in range(count):
        email = f"{prefix}{n}@example.com"
        rows.append({"email": email, "email_key": email_key(email), "first_name": f"First{n}",
                     "last_name": f"Last{n}", "city": city, "owner": owner, "created": now,
                     "updated": now})
    for start in range(0, len(rows), 500):
        Contact.insert_many(rows[start:start + 500]).execute()

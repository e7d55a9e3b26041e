"""Callbacks of worker jobs that must not outlive their widget.

``start_job`` drops a bound method of a deleted QObject by itself; a lambda (used to carry a
generation number along) it cannot see through, so ``guarded`` checks the owner first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject


def guarded(owner: QObject, func: Callable[..., Any]) -> Callable[..., None]:
    def call(*args: Any) -> None:
        if shiboken6.isValid(owner):
            func(*args)

    return call

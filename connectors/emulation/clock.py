"""The emulator's clock: frozen (tests: the same calls give the same answers) or real (demo).

``Clock(fixed=datetime(...))`` starts frozen; ``Clock()`` follows the real time. ``set(when)``
freezes it at a datetime or ISO text, ``advance(seconds)`` moves it on (also on the real clock,
as an offset), ``use_real()`` goes back to real time. ``tz=None`` gives naive local times (INES
answers in the server's local time), else aware times in ``tz``; ``whole_seconds`` drops
microseconds. The admin hooks of an emulator call these (``set_now``, ``advance``...).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["Clock"]


class Clock:
    def __init__(
        self,
        fixed: datetime | str | None = None,
        tz: tzinfo | None = UTC,
        whole_seconds: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._tz = tz
        self._whole = whole_seconds
        self._fixed = self._normal(fixed) if fixed is not None else None
        self._offset = timedelta()

    @property
    def frozen(self) -> bool:
        return self._fixed is not None

    def _normal(self, when: datetime | str) -> datetime:
        value = datetime.fromisoformat(when) if isinstance(when, str) else when
        if self._tz is None:
            value = value.replace(tzinfo=None)
        elif value.tzinfo is None:
            value = value.replace(tzinfo=self._tz)
        else:
            value = value.astimezone(self._tz)
        return value.replace(microsecond=0) if self._whole else value

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                base = self._fixed
            else:
                base = datetime.now(self._tz) if self._tz is not None else datetime.now()
                if self._whole:
                    base = base.replace(microsecond=0)
            return base + self._offset

    def set(self, when: datetime | str) -> datetime:
        """Freeze at ``when``; the offset of earlier advances is dropped."""
        with self._lock:
            self._fixed = self._normal(when)
            self._offset = timedelta()
            return self._fixed

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def use_real(self) -> None:
        with self._lock:
            self._fixed = None
            self._offset = timedelta()

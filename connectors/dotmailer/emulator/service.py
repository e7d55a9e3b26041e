"""The Dotmailer emulator, put together from its parts (one mixin per resource family)."""

from __future__ import annotations

from connectors.dotmailer.emulator.books import BooksMixin
from connectors.dotmailer.emulator.campaigns import CampaignsMixin
from connectors.dotmailer.emulator.demo import DemoMixin
from connectors.dotmailer.emulator.fields import FieldsMixin
from connectors.dotmailer.emulator.imports import ImportsMixin

__all__ = ["DotmailerEmulator"]


class DotmailerEmulator(BooksMixin, ImportsMixin, CampaignsMixin, FieldsMixin, DemoMixin):
    """The Dotmailer v2 API on three loopback ports (r1, r2, r3), with test hooks (§5.4).

    Parts: ``server`` (lifecycle, settings, clock, faults, log, routing), ``hooks`` (data set-up),
    ``demo``, and the endpoints by family: ``books``, ``imports``, ``campaigns``, ``fields``.
    """

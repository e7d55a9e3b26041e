"""A faithful loopback emulator of the Dotmailer (dotdigital) REST API v2.

It follows ``shared/api/dotmailer.md``: the endpoints E1-E26 of §2, the behaviour of §5.3, the
test hooks of §5.4 and the settings of §5.5 (every assumed point of the service is a setting, so
that tests can run the client under each alternative). It is built on the shared emulator half
(``connectors.emulation``: loopback server, faults, log, clock, state file): no Qt, nothing from
``core`` or ``gui``.

One port per region (r1 = ``base_port``, r2 = +1, r3 = +2). State lives in memory, is
deterministic (sequential ids, seeded GUIDs, an injectable clock) and can be saved to JSON.

Modules: ``state`` (constants, settings, records), ``helpers`` (pure helpers, routes),
``server`` (the core every part shares), ``hooks``, ``demo``, ``books``, ``imports``,
``campaigns``, ``fields`` (endpoint families), ``service`` (the assembled class), ``cli``.
"""

from connectors.dotmailer.emulator.cli import main
from connectors.dotmailer.emulator.service import DotmailerEmulator
from connectors.dotmailer.emulator.state import (
    ACTIVE_STATUSES,
    ADMIN_HOOKS,
    CAMPAIGN_STATUSES,
    CONTACT_STATUSES,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_NOW,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_SEED,
    DEFAULT_USER,
    EMAIL_TYPES,
    FIELD_TYPES,
    HOST,
    IMPORT_FINAL_STATUSES,
    OPT_IN_TYPES,
    REGIONS,
    REPLY_ACTIONS,
    SETTING_CHOICES,
    SETTINGS_DEFAULTS,
    Account,
    Activity,
    Book,
    Campaign,
    Contact,
    DataField,
    Import,
    Membership,
    User,
)

__all__ = [
    "ACTIVE_STATUSES",
    "ADMIN_HOOKS",
    "CAMPAIGN_STATUSES",
    "CONTACT_STATUSES",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_NOW",
    "DEFAULT_PASSWORD",
    "DEFAULT_PORT",
    "DEFAULT_SEED",
    "DEFAULT_USER",
    "EMAIL_TYPES",
    "FIELD_TYPES",
    "HOST",
    "IMPORT_FINAL_STATUSES",
    "OPT_IN_TYPES",
    "REGIONS",
    "REPLY_ACTIONS",
    "SETTINGS_DEFAULTS",
    "SETTING_CHOICES",
    "Account",
    "Activity",
    "Book",
    "Campaign",
    "Contact",
    "DataField",
    "DotmailerEmulator",
    "Import",
    "Membership",
    "User",
    "main",
]

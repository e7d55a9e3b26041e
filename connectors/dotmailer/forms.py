"""What the Dotmailer integration form asks for, as data (the GUI and the command line build on it).

The integration's Name and Default Owner belong to every integration, so the engine and the GUI
add them; this form holds what is Dotmailer's own: the API user's email and password, and, under
Advanced, the discovery host and the import throttle. ``--option KEY=VALUE`` on the command line
uses the same keys.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.base import API_URL_FIELD_KEY, FormField, check_api_url
from connectors.dotmailer.client import DISCOVERY_URL

USERNAME = "username"
PASSWORD = "password"
API_URL = API_URL_FIELD_KEY
MAX_ACTIVE_IMPORTS = "max_active_imports"

DEFAULT_MAX_ACTIVE_IMPORTS = 5
HARD_MAX_ACTIVE_IMPORTS = 20  # the account's cap is 25; never come close (D8)


def check_password(value: Any) -> str | None:
    """dotdigital's rule: at least 8 characters with a digit or a non-alphanumeric character."""
    text = str(value)
    if len(text) > 255:
        return "The password must be at most 255 characters long."
    if not re.search(r"[^A-Za-z]", text):
        return "The password must contain at least one digit or non-alphanumeric character."
    return None


def check_max_active_imports(value: Any) -> str | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return "Concurrent imports must be a whole number."
    if not 1 <= number <= HARD_MAX_ACTIVE_IMPORTS:
        return f"Concurrent imports must be between 1 and {HARD_MAX_ACTIVE_IMPORTS}."
    return None


def form_fields() -> list[FormField]:
    return [
        FormField(USERNAME, "User Name", kind="email", required=True,
                  placeholder="apiuser-…@apiconnector.com",
                  help="The email address of the API user created under Account › Manage users "
                       "› API in Dotmailer."),
        FormField(PASSWORD, "Password", kind="password", required=True, secret=True,
                  min_length=8, validate=check_password,
                  help="The API user's password: at least 8 characters with a digit or a "
                       "non-alphanumeric character. Kept in the system keyring."),
        FormField(API_URL, "Service URL", kind="url", default=DISCOVERY_URL, advanced=True,
                  validate=check_api_url,
                  help="Where ListBridge asks for the account's region (r1 answers for every "
                       "region). Change it only for an emulator."),
        FormField(MAX_ACTIVE_IMPORTS, "Concurrent imports", kind="int",
                  default=DEFAULT_MAX_ACTIVE_IMPORTS, advanced=True,
                  validate=check_max_active_imports,
                  help="How many contact imports ListBridge keeps running at once for this "
                       f"account (at most {HARD_MAX_ACTIVE_IMPORTS}; Dotmailer allows 25)."),
    ]

"""The CleverReach integration form, as data (owner: the client/OAuth part of issue 9).

To be written: Client ID, Client secret (keyring), Service URL (advanced), the "Connect with
CleverReach" sign-in field (kind ``oauth``); ``SECRET_KEYS`` names every secret the integration
keeps in the keyring (the client secret and the tokens).
"""

from __future__ import annotations

from connectors.base import FormField

CLIENT_ID = "client_id"
CLIENT_SECRET = "client_secret"
ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
SECRET_KEYS: tuple[str, ...] = (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN)


def form_fields() -> list[FormField]:
    raise NotImplementedError("issue 9: the CleverReach form")

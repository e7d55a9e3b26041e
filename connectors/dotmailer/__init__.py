"""Dotmailer (dotdigital): marketing lists to address books, campaigns and statistics back.

``client`` speaks the REST API v2, ``sync`` holds the steps, ``service`` the admin's actions
(connect a list to an address book), ``forms`` the integration form, ``emulator`` a loopback
emulator of the service, ``cli`` the ``listbridge dotmailer`` commands.
"""

from connectors.base import register
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.models import hard_bounced
from core.bounces import register_source

register(DotmailerConnector())
register_source("Dotmailer", hard_bounced)

__all__ = ["DotmailerConnector"]

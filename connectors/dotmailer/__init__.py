"""Dotmailer (dotdigital): marketing lists to address books, campaigns and statistics back.

``client`` speaks the REST API v2, ``sync`` holds the steps, ``service`` the admin's actions
(connect a list to an address book), ``forms`` the integration form, ``emulator`` a loopback
emulator of the service, ``cli`` the ``listbridge dotmailer`` commands.
"""

from connectors.base import register
from connectors.dotmailer.connector import DotmailerConnector

register(DotmailerConnector())

__all__ = ["DotmailerConnector"]

"""CleverReach (REST API v3 with OAuth 2): the connector comes later; for now the package holds
``emulator``, a loopback emulator of the service (shared/api/cleverreach.md §5), and ``cli``,
``listbridge emulator cleverreach``. Importing it registers no connector yet.
"""

"""The sync engine: runs a connector's steps for one integration under a lock.

It knows nothing of any one service: connectors hand it their steps (``connectors.base``).
"""

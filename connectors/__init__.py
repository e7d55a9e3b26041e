"""Connectors: one package per service, each with client, sync steps, emulator and form.

Importing ``connectors.registry_all`` registers every connector in ``connectors.base.REGISTRY``.
"""

"""The dialogs: records, lists, campaigns, settings, import."""

"""The connector contract suite (``contract.py``) and its run against the fake connector."""

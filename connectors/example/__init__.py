"""The worked example of a connector (docs/CONNECTORS.md walks through it).

A tiny service and the connector that talks to it, small enough to read in one sitting and
complete enough to pass the contract suite every connector passes (tests/contract/):

- ``service.ExampleService``: the service's emulator, a loopback HTTP server (werkzeug) with
  ``GET /api/account`` (HTTP Basic), ``PUT /api/records/<email>`` (an upsert, counted per record)
  and ``GET /api/records/<email>``; hooks ``inject_transient(k)`` (the next k calls answer 503),
  ``fail_permanently(email)`` (its writes answer 422), ``delay`` per call.
- ``connector.ExampleConnector``: a form (user name, password in the keyring, service URL), a
  connection check, a step ``account`` (checks the credentials), a step ``changes`` (queues
  every contact changed since the step's watermark), and ``process_item`` for the engine's queue
  step, which sends each queued contact.

It is not one of the built-in connectors (``connectors.base.load_all`` does not import it): the
tests register it under the type ``fake`` (tests/helpers/fake_service.py).
"""

from connectors.example.connector import ExampleClient, ExampleConnector
from connectors.example.service import GOOD_PASSWORD, GOOD_USER, ExampleService

__all__ = ["GOOD_PASSWORD", "GOOD_USER", "ExampleClient", "ExampleConnector", "ExampleService"]

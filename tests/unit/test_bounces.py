"""``core.bounces``: a connector asks whether an address bounced without importing another."""

from __future__ import annotations

from core import bounces


def test_sources_answer_by_email_key_in_registration_order(monkeypatch):
    monkeypatch.setattr(bounces, "_SOURCES", {})
    seen = {"a@x.example"}
    bounces.register_source("First", lambda key: key in seen)
    bounces.register_source("Second", lambda key: True)
    assert bounces.bounced_in("a@x.example") == ["First", "Second"]
    assert bounces.bounced_in("b@x.example") == ["Second"]
    assert bounces.bounced_in(None) == [] and bounces.bounced_in("") == []
    bounces.unregister_source("Second")
    assert bounces.bounced_in("b@x.example") == []


def test_dotmailer_registers_its_hard_bounces():
    import connectors.dotmailer  # noqa: F401  (registers its source)

    assert "Dotmailer" in bounces._SOURCES

"""``core.bounces``: a connector asks whether an address bounced without importing another."""

from __future__ import annotations

from core import bounces


def test_sources_answer_by_email_key_in_registration_order():
    seen = {"a@x.example"}
    try:
        bounces.register_source("First", lambda key: key in seen)
        bounces.register_source("Second", lambda key: True)
        assert bounces.bounced_in("a@x.example")[-2:] == ["First", "Second"]
        assert "First" not in bounces.bounced_in("b@x.example")
        assert bounces.bounced_in(None) == [] and bounces.bounced_in("") == []
    finally:
        bounces.unregister_source("First")
        bounces.unregister_source("Second")


def test_dotmailer_registers_its_hard_bounces():
    import connectors.dotmailer  # noqa: F401  (registers its source)

    assert "Dotmailer" in bounces._SOURCES

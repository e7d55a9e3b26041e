"""INES sync rules against the emulator (ines.md §3; conformance points 6–21; defects D1–D11).

Each test names the point or defect it covers."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from connectors.base import ConfigurationError, TransientError
from connectors.ines import queue
from connectors.ines.catalogue import (
    CONTACT_FIELDS,
    STOP_SYNC_KEY,
    InesConfig,
    catalogue,
    fetch_config,
    store_config,
)
from connectors.ines.client import LoginRefused, forget_sessions
from connectors.ines.connector import (
    InesConnector,
    configuration_problems,
    mapping_rows,
    push,
    push_list,
)
from connectors.ines.fullsync import RunStopped, initial_sync
from connectors.ines.mapping import (
    MappingSettings,
    ensure_local_fields,
    get_mapping_document,
    save_mapping,
    set_not_ecrasable,
)
from connectors.ines.models import InesSyncLog
from connectors.ines.sync import ContactSync
from core.clock import utcnow
from core.integrations import read_secrets
from core.models.store import Contact, CustomField, ListMember, MarketingList
from core.models.sync import HistoryEvent
from core.store import custom_values, delete_record, save_record, set_custom_values
from tests.connectors.ines_values import PASSWORD

if TYPE_CHECKING:
    from tests.connectors.ines_support import Ines

pytest_plugins = ["tests.connectors.ines_support"]


def text_field(key: str, kind: str = "text", choices: tuple[str, ...] = ()) -> CustomField:
    field = CustomField(entity="contact", key=key, label=key, kind=kind)
    field.choices = list(choices)
    field.save()
    return field


def push_now(ines: Ines, *contacts: Contact, activity: str = "") -> Any:
    return push(ines.reload(), [c.id for c in contacts], read_secrets(ines.integration),
                activity=activity)


# -- §3.4 eligibility, conformance 7 --------------------------------------------------------------------

@pytest.mark.parametrize("case", ["no_email", "no_company", "blank_company", "stop_sync",
                                  "stop_unmapped", "stop_field_deleted"])
def test_ineligible_contacts_cause_no_call(ines: Ines, case: str):
    kwargs: dict[str, Any] = {}
    if case == "no_email":
        kwargs["email"] = None
    elif case == "no_company":
        kwargs["company"] = None
    elif case == "stop_sync":
        kwargs["custom"] = {"ines_stop_sync": True}
    contact = ines.contact(**kwargs)
    if case == "blank_company":
        contact.company.name = " "
        contact.company.save()
    if case == "stop_unmapped":
        mapping = dict(MappingSettings.of(ines.integration).fields)
        del mapping[STOP_SYNC_KEY]
        assert save_mapping(ines.integration, mapping) == []
    if case == "stop_field_deleted":
        CustomField.delete().where(CustomField.key == "ines_stop_sync").execute()
    summary = push_now(ines, contact)
    assert [o.status for o in summary.outcomes] == ["ignored"]
    assert summary.outcomes[0].message
    assert ines.emulator.calls() == []
    if case in ("stop_unmapped", "stop_field_deleted"):
        with pytest.raises(RunStopped) as stopped:
            ines.run()
        assert isinstance(stopped.value.error, ConfigurationError)
        assert ines.emulator.calls() == []
        assert configuration_problems(ines.integration)
    else:
        ines.run()
        assert ines.ops("AddClientWithContacts") == []
        assert configuration_problems(ines.integration) == []


# -- §3.6 create, conformance 8 -----------------------------------------------------------------------------

def test_create_sends_one_client_with_its_contact_then_one_lead(ines: Ines):
    ines.emulator.set_sync_info(lead_ref=3, societe_type=4)
    ines.company("Durand SA", city="Lyon", street="1 rue Haute", postal_code="69001",
                 phone="04 00 00 00 00", website="https://durand.example", country="France")
    contact = ines.contact(first_name="Paul", last_name="Durand", points=15)
    counts = ines.run()
    assert counts.lines() == ["1 updated of 1", "0 deleted of 0", "0 enqueued (initial sync)"]
    # The first create of all reads the contact types once, for the default Type (§3.2).
    assert ines.ops() == ["GetSyncInfo", "GetTypeContactList", "AddClientWithContacts",
                          "AddLead"]
    (sent,) = ines.params("AddClientWithContacts")
    client = sent["client"]
    assert client["PaymentMethodRef"] == 1 and client["Type"] == 4
    assert client["CompanyName"] == "Durand SA" and client["IsNew"] is True
    assert (client["City"], client["Address1"], client["ZipCode"], client["Phone"],
            client["Website"], client["Country"]) == (
        "Lyon", "1 rue Haute", "69001", "04 00 00 00 00", "https://durand.example", "France")
    (person,) = client["Contacts"]
    assert person["AutomationRef"] == contact.id and person["Scoring"] == 15
    assert person["Desabo"] == 0 and "DateOfBirth" not in person  # D4
    assert person["PrimaryMailAddress"] == "paul@durand.example"
    assert (person["FirstName"], person["LastName"]) == ("Paul", "Durand")
    assert ines.refs(contact) == (5001, 1001)
    (lead,) = ines.params("AddLead")
    assert lead["info"]["FileRef"] == 3 and lead["info"]["CtRef"] == 5001
    assert lead["info"]["ClRef"] == 1001 and lead["info"]["AutomationScoring"] == 15
    assert lead["info"]["DescriptionCourte"] == "Lead ListBridge"
    assert ines.rows()[0].status == "DONE" and ines.rows()[0].counter == 1
    assert [e.kind for e in ines.history(contact)] == ["ines_created"]


def test_no_lead_when_lead_ref_is_negative(ines: Ines):
    ines.emulator.set_sync_info(lead_ref=-1)
    ines.contact()
    ines.run()
    assert ines.ops() == ["GetSyncInfo", "GetTypeContactList", "AddClientWithContacts"]


def test_an_unmapped_type_defaults_to_the_first_type_ines_lists(ines: Ines):
    """§3.2: contact Type from GetTypeContactList, first entry as default; client Type is
    SocieteType (§3.6), else the first of GetTypeClientList."""
    ines.emulator.set_lookup("contact_types", [
        {"InternalRef": 7, "Description": "Utilisateur", "Order": 2},
        {"InternalRef": 9, "Description": "Décideur", "Order": 1}])
    ines.emulator.set_lookup("client_types", [
        {"InternalRef": 4, "Description": "Prospect", "Order": 1}])
    ines.emulator.set_sync_info(societe_type=0)
    first = ines.contact("a@durand.example")
    ines.run()
    client = ines.params("AddClientWithContacts")[0]["client"]
    assert (client["Contacts"][0]["Type"], client["Type"]) == (9, 4)  # by Order, not by ref
    assert sorted(ines.ops("GetTypeContactList", "GetTypeClientList")) == [
        "GetTypeClientList", "GetTypeContactList"]  # once each
    # Cached with the configuration: the next runs do not read the lists again.
    ines.emulator.clear_calls()
    ines.emulator.set_sync_info(societe_type=2)
    ines.contact("b@martin.example", company="Martin SARL")
    ines.run()
    client = ines.params("AddClientWithContacts")[0]["client"]
    assert (client["Contacts"][0]["Type"], client["Type"]) == (9, 2)  # SocieteType wins
    assert ines.ops("GetTypeContactList", "GetTypeClientList") == []
    assert ines.refs(first) == (5001, 1001)


def test_a_mapped_type_wins_and_no_type_list_means_zero(ines: Ines):
    text_field("contact_type", "choice", ("3 - Acheteur", "9 - Décideur"))
    ines.map(contact_Type="contact_type")
    ines.contact("a@durand.example", custom={"contact_type": "3 - Acheteur"})
    ines.contact("b@durand.example")  # mapped but blank: the default (INES lists none: 0)
    ines.run()
    sent = [p["client"]["Contacts"][0] for p in ines.params("AddClientWithContacts")]
    assert [(c["PrimaryMailAddress"], c["Type"]) for c in sent] == [
        ("a@durand.example", 3), ("b@durand.example", 0)]
    assert ines.ops("GetTypeContactList") == ["GetTypeContactList"]  # once per run at most


def test_a_type_list_refused_by_ines_sends_type_zero(ines: Ines):
    ines.api().get_sync_info()
    ines.emulator.inject("wsicm", "GetTypeContactList", "fault", times=2, text="no types")
    ines.contact()
    ines.run()
    (sent,) = ines.params("AddClientWithContacts")
    assert sent["client"]["Contacts"][0]["Type"] == 0
    assert ines.rows()[0].status == "DONE"


def test_a_do_not_contact_contact_is_sent_unsubscribed(ines: Ines):
    ines.contact(do_not_contact=True)
    ines.run()
    assert ines.params("AddClientWithContacts")[0]["client"]["Contacts"][0]["Desabo"] == 1


def bounced(email: str, status: str = "HardBounced") -> None:
    """What the Dotmailer connector records when an address bounces (§3.9 option)."""
    from connectors.dotmailer.models import DotmailerContact
    from core.models.sync import Integration

    dotmailer = (Integration.get_or_none(Integration.name == "Dotmailer")
                 or Integration.create(type="dotmailer", name="Dotmailer"))
    DotmailerContact.create(integration=dotmailer, email=email, email_key=email.lower(),
                            status=status)


def test_npai_from_bounces_is_an_option(ines: Ines):
    from connectors.ines.mapping import npai_from_bounces, set_npai_from_bounces

    bounced("paul@durand.example")
    bounced("soft@durand.example", "SoftBounced")
    ines.contact()
    ines.contact("soft@durand.example")
    ines.run()
    assert [p["client"]["Contacts"][0]["NPai"] for p in ines.params("AddClientWithContacts")] \
        == [0, 0]  # off by default
    assert not npai_from_bounces(ines.integration)
    set_npai_from_bounces(ines.reload(), True)
    assert npai_from_bounces(ines.reload())
    ines.emulator.clear_calls()
    ines.contact("Other@Martin.example", company="Martin SARL")
    bounced("other@martin.example")
    ines.run()
    (sent,) = ines.params("AddClientWithContacts")
    person = sent["client"]["Contacts"][0]
    assert (person["NPai"], person["Desabo"]) == (1, 0)  # Desabo stays for opt-outs


def test_npai_from_bounces_updates_only_while_empty_in_ines(ines: Ines):
    from connectors.ines.mapping import set_npai_from_bounces

    contact = synced(ines)
    set_npai_from_bounces(ines.reload(), True)
    bounced("paul@durand.example")
    ines.edit(contact, first_name="Paul")
    ines.run()
    (update,) = ines.params("UpdateContact")
    assert update["contact"]["NPai"] == 1
    assert ines.emulator.get_contact(5001)["NPai"] in (1, "1", True)
    ines.emulator.clear_calls()
    ines.edit(contact, first_name="Pierre")
    ines.run()
    (update,) = ines.params("UpdateContact")
    assert update["contact"]["FirstName"] == "Pierre"  # NPai already set there: left alone


def test_mapped_values_choice_keys_dates_and_company_fields(ines: Ines):
    text_field("client_type", "choice", ("3 - Prospect", "4 - Client"))
    text_field("confidential", "choice", ("-1 - Read only", "1 - Confidential"))
    ines.map(contact_DateOfBirth="birth_date", client_Type="client_type",
             contact_Confidentiality="confidential", contact_Function="job_title",
             client_Website="company.email")
    ines.company("Durand SA", website="https://ignored.example", email="info@durand.example")
    ines.contact(birth_date=date(1980, 2, 29), job_title="CEO",
                 custom={"client_type": "3 - Prospect", "confidential": "-1 - Read only"})
    ines.run()
    client = ines.params("AddClientWithContacts")[0]["client"]
    person = client["Contacts"][0]
    assert client["Type"] == 3
    assert client["Website"] == "info@durand.example"  # the mapping wins over the company
    assert person["Confidentiality"] == "-1" and person["Function"] == "CEO"
    assert person["DateOfBirth"].date() == date(1980, 2, 29)


def test_birth_date_fallback_is_a_fixed_sentinel_never_today(ines: Ines):
    ines.settings(birth_date_fallback="1900-01-01T00:00:00")
    ines.emulator.configure(require_birth_date=True)
    ines.contact()
    ines.run()
    person = ines.params("AddClientWithContacts")[0]["client"]["Contacts"][0]
    assert person["DateOfBirth"].date() == date(1900, 1, 1)


def test_the_refs_write_does_not_queue_the_contact_again(ines: Ines):
    ines.contact()
    ines.run()
    assert [r.status for r in ines.rows()] == ["DONE"]
    assert ines.pending() == []


# -- §3.7 update, conformance 9 and 10, D4, D6, D7 -------------------------------------------------------------

def synced(ines: Ines, **fields: Any) -> Contact:
    contact = ines.contact(**fields)
    ines.run()
    assert ines.refs(contact) == (5001, 1001)
    ines.emulator.clear_calls()
    return contact


def synced_elsewhere(ines: Ines) -> Contact:
    """A second contact, of another company, synced (refs 5002/1002)."""
    contact = ines.contact("jean@martin.example", company="Martin SARL")
    ines.run()
    assert ines.refs(contact) == (5002, 1002)
    ines.emulator.clear_calls()
    return contact


def test_an_update_with_nothing_changed_makes_reads_only(ines: Ines):
    contact = synced(ines, first_name="Paul")
    ines.edit(contact, salutation="M.")  # an unmapped field
    counts = ines.run()
    assert counts.updated == 1 and counts.unchanged == 1
    assert ines.ops() == ["GetSyncInfo", "GetContact", "GetClient"]


def test_a_non_overwritable_field_is_kept_and_filled_when_empty(ines: Ines):
    ensure_local_fields(["contact_Service"])
    ines.map(contact_Function="job_title", contact_Service="ines_contact_service")
    set_not_ecrasable(ines.integration, ["contact_Function", "contact_PrimaryMailAddress"])
    contact = synced(ines, job_title="CEO")
    ines.emulator.edit_contact(5001, Function="Boss")
    ines.edit(contact, job_title="CTO")
    ines.run()
    assert ines.emulator.get_contact(5001)["Function"] == "Boss"
    ines.emulator.edit_contact(5001, Function="")
    ines.edit(contact, job_title="CFO")
    ines.run()
    assert ines.emulator.get_contact(5001)["Function"] == "CFO"


def test_overwritable_fields_are_overwritten_and_fixed_ones_kept(ines: Ines):
    contact = synced(ines, first_name="Paul")
    ines.emulator.edit_contact(5001, FirstName="Pablo", PrimaryMailAddress="other@x.example")
    ines.emulator.edit_client(1001, CompanyName="Renamed SA")
    ines.edit(contact, first_name="Pierre")
    ines.run()
    stored = ines.emulator.get_contact(5001)
    assert stored["FirstName"] == "Pierre"
    assert stored["PrimaryMailAddress"] == "other@x.example"  # fixed: never overwritten
    assert ines.emulator.get_client(1001)["CompanyName"] == "Renamed SA"


def test_a_blank_local_value_never_clears_ines(ines: Ines):
    contact = synced(ines, first_name="Paul", last_name="Durand")
    ines.edit(contact, first_name="", last_name="  ", points=3)
    ines.run()
    stored = ines.emulator.get_contact(5001)
    assert (stored["FirstName"], stored["LastName"]) == ("Paul", "Durand")


def test_zero_and_false_are_values_and_are_sent(ines: Ines):
    text_field("customer_no", "number")
    text_field("ines_contact_npai", "boolean")
    ines.map(client_CustomerNumber="customer_no")
    contact = synced(ines, points=15, custom={"customer_no": 7})
    ines.emulator.edit_client(1001, CustomerNumber=42)
    ines.edit(contact, points=0, custom={"customer_no": 0, "ines_contact_npai": False})
    ines.run()
    assert ines.emulator.get_client(1001)["CustomerNumber"] == 0
    assert ines.emulator.get_contact(5001)["Scoring"] == 0
    (update,) = ines.params("UpdateContact")
    assert update["contact"]["Scoring"] == 0


def test_a_change_of_points_alone_sends_update_contact(ines: Ines):
    contact = synced(ines, points=15)
    ines.edit(contact, points=16)
    ines.run()
    assert ines.ops() == ["GetSyncInfo", "GetContact", "GetClient", "UpdateContact"]
    assert ines.emulator.get_contact(5001)["Scoring"] == 16


def test_a_change_of_unsubscribe_alone_sends_update_contact(ines: Ines):
    contact = synced(ines)
    ines.edit(contact, do_not_contact=True)
    ines.run()
    assert ines.ops("UpdateContact") == ["UpdateContact"]
    assert ines.emulator.get_contact(5001)["Desabo"] == 1


@pytest.mark.parametrize("null_dates", ["min_value", "omit"])
def test_dates_ines_left_empty_are_omitted_on_update(ines: Ines, null_dates: str):
    ines.emulator.configure(null_dates=null_dates)
    contact = synced(ines, points=1)
    ines.edit(contact, points=2)
    ines.run()
    (update,) = ines.params("UpdateContact")
    assert "DateOfBirth" not in update["contact"]
    assert update["contact"]["IsNew"] is False
    assert update["contact"]["InternalRef"] == 5001
    assert update["contact"]["AutomationRef"] == contact.id


def test_client_changes_send_update_client_with_the_object_read(ines: Ines):
    ines.company("Durand SA", city="Lyon")
    contact = synced(ines)
    company = contact.company
    company.city = "Paris"
    save_record(company)
    ines.edit(contact, points=4)
    ines.run()
    assert ines.emulator.get_client(1001)["City"] == "Paris"
    (update,) = ines.params("UpdateClient")
    assert update["client"]["PaymentMethodRef"] == 1 and update["client"]["InternalRef"] == 1001
    assert ines.emulator.calls(operation="UpdateClient")[0].service == "wsicm"


def test_update_client_service_option(ines: Ines):
    ines.settings(update_client_service="WSAutomationSync")
    ines.company("Durand SA", city="Lyon")
    contact = synced(ines)
    company = contact.company
    company.city = "Nice"
    save_record(company)
    ines.edit(contact, points=4)
    ines.run()
    assert ines.emulator.calls(operation="UpdateClient")[0].service == "WSAutomationSync"


# -- gone objects, conformance 11, D11 -----------------------------------------------------------------------

def test_a_contact_deleted_in_ines_is_created_again_with_new_refs(ines: Ines):
    contact = synced(ines)
    ines.emulator.delete_contact(5001)
    ines.edit(contact, points=9)
    ines.run()
    assert ines.refs(contact) == (5002, 1002)
    assert ines.ops() == ["GetSyncInfo", "GetContact", "AddClientWithContacts", "AddLead"]
    assert any(e.kind == "ines_gone" for e in ines.history(contact))
    assert ines.emulator.get_contact(5001) is not None  # the old one is left alone


def test_a_fault_not_matching_the_not_found_pattern_does_not_recreate(ines: Ines):
    ines.emulator.configure(missing_object="fault")
    contact = synced(ines)
    ines.emulator.delete_contact(5001)
    ines.edit(contact, points=9)
    ines.run()
    assert ines.ops("AddClientWithContacts") == []
    assert ines.refs(contact) == (5001, 1001)
    row = ines.rows()[-1]
    assert (row.status, row.counter) == ("PENDING", 1) and row.last_error


def test_a_fault_matching_the_not_found_pattern_recreates(ines: Ines):
    ines.emulator.configure(missing_object="fault")
    ines.settings(not_found_fault_regex="(?i)object reference not set")
    contact = synced(ines)
    ines.emulator.delete_contact(5001)
    ines.edit(contact, points=9)
    ines.run()
    assert ines.refs(contact) == (5002, 1002)


# -- §3.8 custom fields, conformance 12 ----------------------------------------------------------------------

def custom_setup(ines: Ines) -> tuple[int, int, int]:
    secteur = ines.emulator.add_cf_definition("contact", "Secteur", "list", ["Industrie", "Services"])
    since = ines.emulator.add_cf_definition("contact", "Client depuis", "date")
    staff = ines.emulator.add_cf_definition("client", "Salariés", "numeral")
    api = ines.api()
    config = fetch_config(api)
    store_config(ines.integration, config)
    keys = [f"contact_{secteur}", f"contact_{since}", f"client_{staff}"]
    ensure_local_fields(keys, config)
    ines.map(**{key: f"ines_{key.split('_')[0]}_custom_{key.split('_')[1]}" for key in keys})
    ines.emulator.clear_calls()
    return secteur, since, staff


def test_custom_fields_are_inserted_without_reading_on_create(ines: Ines):
    secteur, since, staff = custom_setup(ines)
    ines.contact(custom={f"ines_contact_custom_{secteur}": "Industrie",
                         f"ines_contact_custom_{since}": date(2020, 5, 4),
                         f"ines_client_custom_{staff}": 12})
    ines.run()
    assert ines.ops("GetContactCF", "GetCompanyCF") == []
    assert ines.ops("InsertContactCF", "InsertCompanyCF") == [
        "InsertContactCF", "InsertContactCF", "InsertCompanyCF"]
    values = {(v["concept"], v["DefinitionRef"]): v for v in ines.emulator.cf_values()}
    assert values[("contact", secteur)]["Value"] == "Industrie"
    assert values[("contact", since)]["Value"] == "2020-05-04"
    assert values[("client", staff)]["Value"] == "12" and values[("client", staff)]["owner"] == 1001
    assert all(v["chvLies"] == 0 and v["chvGroupeAssoc"] == 0 for v in values.values())
    # 2 calls for a new contact plus one per custom field
    assert len(ines.ops()) == 1 + 2 + 3


def test_custom_fields_update_the_last_value_insert_missing_and_respect_non_overwritable(
        ines: Ines):
    secteur, since, staff = custom_setup(ines)
    contact = ines.contact(custom={f"ines_contact_custom_{secteur}": "Industrie"})
    ines.run()
    first = ines.emulator.cf_values("contact", 5001)[0]["Ref"]
    ines.emulator.seed({"cf_values": [{"concept": "contact", "owner": 5001,
                                       "definition": secteur, "value": "Autre"},
                                      {"concept": "client", "owner": 1001,
                                       "definition": staff, "value": "40"}]})
    set_not_ecrasable(ines.integration, [f"client_{staff}"])
    ines.emulator.clear_calls()
    ines.edit(contact, custom={f"ines_contact_custom_{secteur}": "Services",
                               f"ines_contact_custom_{since}": "2021-01-02",
                               f"ines_client_custom_{staff}": 50})
    ines.run()
    assert ines.ops("GetContactCF", "GetCompanyCF") == ["GetContactCF", "GetCompanyCF"]
    (update,) = ines.params("UpdateContactCF")
    last = [v for v in ines.emulator.cf_values("contact", 5001, secteur)][-1]
    assert update["chpRef"] == last["Ref"] != first  # the last value is the one compared
    assert last["Value"] == "Services"
    assert [p["chdefRef"] for p in ines.params("InsertContactCF")] == [since]
    assert ines.params("UpdateCompanyCF") == []  # non-overwritable and filled in INES
    assert [v["Value"] for v in ines.emulator.cf_values("client", 1001, staff)] == ["40"]


def test_an_unchanged_custom_field_is_only_read(ines: Ines):
    secteur, _, _ = custom_setup(ines)
    contact = ines.contact(custom={f"ines_contact_custom_{secteur}": "Industrie"})
    ines.run()
    ines.emulator.clear_calls()
    ines.edit(contact, salutation="Mme")
    ines.run()
    assert ines.ops() == ["GetSyncInfo", "GetContact", "GetClient", "GetContactCF"]


# -- §3.11 company change, conformance 13 --------------------------------------------------------------------

@pytest.mark.parametrize("full_sync", [True, False])
def test_changing_the_primary_company_resets_both_refs_and_queues_an_update(ines: Ines,
                                                                            full_sync: bool):
    contact = synced(ines)
    ines.features(push_lead=full_sync, full_sync=full_sync)  # off: no automatic push either
    other = ines.company("Martin SARL")
    ines.edit(contact, company=other)
    assert ines.refs(contact) == (0, 0)
    assert len(ines.pending()) == (1 if full_sync else 0)
    if full_sync:
        ines.run()
        assert ines.refs(contact) == (5002, 1002)
        assert ines.emulator.get_client(1002)["CompanyName"] == "Martin SARL"
        assert ines.emulator.get_contact(5001) is not None


def test_unlinking_the_company_resets_refs_and_drops_the_pending_row(ines: Ines):
    contact = synced(ines)
    ines.edit(contact, points=3)
    assert len(ines.pending()) == 1
    ines.edit(contact, company=None)
    assert ines.refs(contact) == (0, 0)
    assert ines.pending() == []


@pytest.mark.parametrize("full_sync", [True, False])
def test_deleting_the_company_resets_the_refs_of_its_contacts(ines: Ines, full_sync: bool):
    """§3.11: a deleted company unlinks its contacts (the foreign key, no contact notice)."""
    from core.models.store import Company

    contact = synced(ines)
    other = synced_elsewhere(ines)
    ines.features(push_lead=full_sync, full_sync=full_sync)  # off: no automatic push either
    ines.edit(contact, points=4)
    assert len(ines.pending()) == (1 if full_sync else 0)
    delete_record(Company.get(Company.name == "Durand SA"))
    assert Contact.get_by_id(contact.id).company is None
    assert ines.refs(contact) == (0, 0)
    assert ines.refs(other) == (5002, 1002)  # another company's contact keeps its refs
    assert ines.pending() == []
    kinds = [e.kind for e in ines.history(contact)]
    assert "ines_refs_reset" in kinds
    assert ("ines_unqueued" in kinds) == full_sync
    assert "deleted" in next(e.message for e in ines.history(contact)
                             if e.kind == "ines_refs_reset")
    assert [e.kind for e in ines.history(other)].count("ines_refs_reset") == 0


def test_a_company_deletion_naming_its_contacts_resets_only_those(ines: Ines):
    """When ``core.store.delete_record`` gives the contacts it unlinked (``contact_ids``),
    only they are reset."""
    from core.changes import RecordChange, notify

    contact = synced(ines)
    stray = ines.contact("stray@nowhere.example", company=None)
    set_custom_values("contact", stray.id, {"ines_contact_ref": 77, "ines_client_ref": 78})
    Contact.update(company=None).where(Contact.id == contact.id).execute()
    notify(RecordChange("company", 999, "deleted", before={"id": 999,
                                                           "contact_ids": [contact.id]}))
    assert ines.refs(contact) == (0, 0)
    assert ines.refs(stray) == (77, 78)


# -- §3.13 queue, conformance 14 and 16, D8 ---------------------------------------------------------------

def test_queueing_twice_leaves_one_pending_row(ines: Ines):
    contact = ines.contact()
    ines.edit(contact, first_name="A")
    ines.edit(contact, first_name="B")
    assert [(r.action, r.contact_id) for r in ines.pending()] == [("UPDATE", contact.id)]


def test_a_delete_after_an_update_replaces_it(ines: Ines):
    contact = synced(ines)
    ines.edit(contact, first_name="A")
    delete_record(Contact.get_by_id(contact.id))
    (row,) = ines.pending()
    assert (row.action, row.contact_id, row.ines_contact_ref) == ("DELETE", contact.id, 5001)
    assert (row.lead_email, row.lead_company) == ("paul@durand.example", "Durand SA")


def test_no_delete_row_without_a_ref_or_for_an_ineligible_contact(ines: Ines):
    never_synced = ines.contact("a@x.example")
    stopped = ines.contact("b@x.example")
    delete_record(Contact.get_by_id(never_synced.id))
    set_custom_values("contact", stopped.id, {"ines_contact_ref": 77, "ines_client_ref": 88,
                                              "ines_stop_sync": True})
    delete_record(Contact.get_by_id(stopped.id))
    assert ines.rows() == []  # no DELETE, and the deleted contacts' updates are moot
    assert queue.enqueue_delete(ines.integration, 5, 0, "x@y.example", "X") is None


def test_a_new_contact_reusing_an_id_keeps_the_old_pending_delete(ines: Ines):
    old = synced(ines)
    delete_record(Contact.get_by_id(old.id))
    queue.enqueue_update(ines.integration, old.id, "new@x.example", "New SA")
    assert sorted(r.action for r in ines.pending()) == ["DELETE", "UPDATE"]


def test_delete_calls_delete_automation_contact_and_is_done(ines: Ines):
    contact = synced(ines)
    delete_record(Contact.get_by_id(contact.id))
    counts = ines.run()
    assert counts.lines()[1] == "1 deleted of 1"
    (call,) = ines.params("DeleteAutomationContact")
    assert call["InesRef"] == 5001
    row = ines.rows()[-1]
    assert (row.action, row.status, row.counter) == ("DELETE", "DONE", 1)
    assert ines.emulator.get_contact(5001) is not None


def test_a_delete_not_answered_success_follows_the_three_attempt_rule(ines: Ines):
    contact = synced(ines)
    ines.emulator.delete_contact(5001)
    ines.emulator.configure(missing_object="fault")
    delete_record(Contact.get_by_id(contact.id))
    InesSyncLog.update(ines_contact_ref=999).execute()  # unknown in INES: "NotFound"
    for expected in [("PENDING", 1), ("PENDING", 2), ("FAILED", 3)]:
        ines.run()
        row = ines.rows()[-1]
        assert (row.status, row.counter) == expected
        assert row.last_error


def test_a_delete_row_without_ref_fails_without_a_call(ines: Ines):
    InesSyncLog.create(integration=ines.integration, action="DELETE", contact_id=3,
                       ines_contact_ref=0, status="PENDING")
    ines.run()
    row = ines.rows()[-1]
    assert (row.status, row.counter) == ("FAILED", 0)
    assert ines.ops("DeleteAutomationContact") == []


# -- §3.14 the run, conformance 6 and 15, D1, D2 -----------------------------------------------------------

def refused_contact(ines: Ines, email: str) -> Contact:
    """A contact INES refuses every time (an enum value the server rejects)."""
    return ines.contact(email, custom={"confidential": "bogus"})


def enum_setup(ines: Ines) -> None:
    text_field("confidential")
    ines.map(contact_Confidentiality="confidential")
    ines.emulator.configure(enum_check=True)


def test_failing_rows_go_pending_pending_failed_and_success_goes_done(ines: Ines):
    enum_setup(ines)
    bad = refused_contact(ines, "bad@x.example")
    good = ines.contact("good@x.example")
    states = []
    for _ in range(3):
        counts = ines.run()
        rows = {r.contact_id: r for r in ines.rows()}
        states.append((rows[bad.id].status, rows[bad.id].counter, rows[good.id].status))
        assert counts.update_failed == 1 or states[-1][0] == "FAILED"
    assert states == [("PENDING", 1, "DONE"), ("PENDING", 2, "DONE"), ("FAILED", 3, "DONE")]
    assert "INES refused" in ines.rows()[0].last_error
    ines.run()  # ignored while FAILED
    assert ines.rows()[0].counter == 3
    assert [e.level for e in ines.history(bad)] == ["error"] * 3


def test_each_row_status_comes_from_its_own_outcome(ines: Ines):
    enum_setup(ines)
    first = ines.contact("first@x.example")
    bad = refused_contact(ines, "bad@x.example")
    ines.run()
    rows = {r.contact_id: r for r in ines.rows()}
    assert rows[first.id].status == "DONE"
    assert (rows[bad.id].status, rows[bad.id].counter) == ("PENDING", 1)  # not DONE (D1)


def test_a_run_takes_n_updates_then_n_deletes_in_id_order(ines: Ines):
    old = [synced(ines)]
    for n in range(2):
        old.append(ines.contact(f"old{n}@x.example"))
    ines.run()
    for contact in old:
        delete_record(Contact.get_by_id(contact.id))
    new = [ines.contact(f"new{n}@x.example") for n in range(4)]
    ines.emulator.clear_calls()
    counts = ines.run(limit=2)
    assert (counts.update_total, counts.delete_total) == (2, 2)
    created = [p["client"]["Contacts"][0]["AutomationRef"]
               for p in ines.params("AddClientWithContacts")]
    assert created == [new[0].id, new[1].id]
    deleted = [p["InesRef"] for p in ines.params("DeleteAutomationContact")]
    assert deleted == [5001, 5002]
    operations = ines.ops("AddClientWithContacts", "DeleteAutomationContact")
    assert operations == ["AddClientWithContacts"] * 2 + ["DeleteAutomationContact"] * 2


def test_an_exception_on_a_row_is_an_attempt_and_the_run_goes_on(
        ines: Ines, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    bad = ines.contact("bad@x.example")
    good = ines.contact("good@x.example")
    original = ContactSync.sync

    def flaky(self: ContactSync, contact: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(contact, "email", "") == "bad@x.example":
            raise RuntimeError("a bug")
        return original(self, contact, *args, **kwargs)

    monkeypatch.setattr(ContactSync, "sync", flaky)
    with caplog.at_level(logging.ERROR, logger="listbridge"):
        ines.run()
    rows = {r.contact_id: r for r in ines.rows()}
    assert (rows[bad.id].status, rows[bad.id].counter) == ("PENDING", 1)
    assert "RuntimeError" in rows[bad.id].last_error
    assert rows[good.id].status == "DONE"


def test_a_contact_gone_locally_fails_its_row_without_an_attempt(ines: Ines):
    queue.enqueue_update(ines.integration, 4242, "ghost@x.example", "Ghost SA")
    ines.run()
    (row,) = ines.rows()
    assert (row.status, row.counter) == ("FAILED", 0)


@pytest.mark.parametrize("injection", [("fault", {"text": "refused"}), ("html_error", {}),
                                       ("malformed_xml", {}), ("truncated", {}),
                                       ("delay", {"seconds": 0.5})])
def test_one_failing_row_does_not_stop_the_run(ines: Ines, injection: tuple[str, dict[str, Any]]):
    kind, params = injection
    ines.settings(read_timeout=0.2)
    first = ines.contact("first@x.example")
    second = ines.contact("second@x.example")
    ines.api().get_sync_info()  # a session, so the fault is not taken for an expired one
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", kind,
                         times=2 if kind == "fault" else 1, **params)  # a fault is repeated once
    ines.run()
    rows = {r.contact_id: r for r in ines.rows()}
    assert rows[first.id].last_error and rows[first.id].counter == 1
    assert rows[second.id].status == "DONE"
    assert ines.history(first)[-1].level == "error"


@pytest.mark.parametrize("kind", ["delay", "drop_connection"])
def test_a_create_cut_off_is_not_repeated_and_says_outcome_unknown(ines: Ines, kind: str):
    ines.settings(read_timeout=0.2)
    contact = ines.contact()
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", kind, seconds=0.5,
                         after_commit=True)
    ines.run()
    (row,) = ines.rows()
    assert (row.status, row.counter) == ("FAILED", 1)
    assert "outcome unknown" in row.last_error.lower()
    assert ines.refs(contact) == (None, None)
    ines.run()
    ines.edit(contact, points=1)  # even a new edit creates nothing by itself
    assert ines.emulator.call_count(operation="AddClientWithContacts") == 1
    assert "outcome unknown" in ines.history(contact)[0].message.lower()


def test_a_create_interrupted_by_a_crash_is_not_sent_again(ines: Ines):
    contact = ines.contact()
    (row,) = ines.rows()
    queue.charge(row)
    queue.mark(row, queue.CREATE_IN_FLIGHT)  # what a killed run leaves behind
    ines.run()
    row = ines.rows()[0]
    assert (row.status, row.counter) == ("FAILED", 1)
    assert row.last_error == queue.OUTCOME_UNKNOWN
    assert ines.ops("AddClientWithContacts") == []
    assert ines.history(contact)[-1].level == "error"


def test_three_transient_failures_in_a_row_stop_the_run(ines: Ines):
    contacts = [ines.contact(f"c{n}@x.example") for n in range(5)]
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", "http_status", times=None,
                         code=503)
    with pytest.raises(RunStopped) as stopped:
        ines.run()
    assert isinstance(stopped.value.error, TransientError)
    counters = [r.counter for r in ines.rows()]
    assert counters == [1, 1, 1, 0, 0]
    assert len(contacts) == 5


def test_a_rate_limit_is_not_charged_to_the_row_and_stops_the_run(ines: Ines):
    """The engine's attempt rule: a 429 is INES's bad moment, not the row's; no attempt is
    burnt on it, the next run sends it."""
    ines.contact()
    ines.contact("second@x.example")
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", "http_status", times=None,
                         code=429)
    with pytest.raises(RunStopped):
        ines.run()
    assert [(r.status, r.counter) for r in ines.rows()] == [("PENDING", 0), ("PENDING", 0)]
    assert len(ines.ops("AddClientWithContacts")) == 1  # turned away once, the run stopped there


def test_a_refused_login_stops_the_run_before_any_row(ines: Ines):
    ines.contact()
    ines.emulator.set_credentials("ACME", "jdupont", "changed-password")
    with pytest.raises(RunStopped) as stopped:
        ines.run()
    assert isinstance(stopped.value.error, LoginRefused)
    assert [(r.status, r.counter, r.last_error) for r in ines.rows()] == [("PENDING", 0, None)]
    assert ines.ops() == []


def test_a_login_refused_after_the_refresh_charges_no_row(ines: Ines):
    ines.contact()
    ines.api().get_sync_info()
    ines.emulator.clear_calls()
    ines.emulator.expire_all_sessions()
    ines.emulator.set_credentials("ACME", "jdupont", "changed-password")
    with pytest.raises(RunStopped):
        ines.run()
    assert [(r.status, r.counter) for r in ines.rows()] == [("PENDING", 0)]


def test_ines_unreachable_stops_the_run_without_charging(ines: Ines):
    ines.contact()
    ines.emulator.stop()
    forget_sessions()
    with pytest.raises(RunStopped) as stopped:
        ines.run()
    assert isinstance(stopped.value.error, TransientError)
    assert [(r.status, r.counter) for r in ines.rows()] == [("PENDING", 0)]


# -- §3.15 initial sync, conformance 17, D9 -------------------------------------------------------------------

def test_initial_sync_queues_at_most_100_eligible_contacts_by_id(ines: Ines):
    ines.features(push_lead=False, full_sync=False)
    for n in range(120):  # ineligible ones first: they must not stall the batch
        ines.contact(f"x{n}@x.example", company=None)
    stopped = ines.contact("stop@x.example", custom={"ines_stop_sync": True})
    eligible = [ines.contact(f"e{n}@x.example", company=f"Co {n % 7}") for n in range(130)]
    ines.features(full_sync=True)
    assert ines.rows() == []
    counts = ines.run(limit=1)
    assert counts.enqueued == 100
    queued = [r.contact_id for r in ines.rows()]
    assert queued == [c.id for c in eligible[:100]]
    assert stopped.id not in queued
    assert all(r.source == "initial" for r in ines.rows())
    counts = ines.run(limit=150)  # sends the 100, then queues the last 30
    assert counts.updated == 100 and counts.enqueued == 30


def test_initial_sync_waits_while_an_update_is_pending(ines: Ines):
    enum_setup(ines)
    ines.features(push_lead=False, full_sync=False)
    waiting = ines.contact("a@x.example")
    ines.features(full_sync=True)
    refused_contact(ines, "bad@x.example")  # queued by the event, refused by INES
    assert [ines.run().enqueued for _ in range(2)] == [0, 0]  # still PENDING after each run
    assert ines.run().enqueued == 1  # FAILED at the third: the initial sync may run
    assert ines.pending()[0].contact_id == waiting.id
    assert initial_sync(ines.integration) == 0  # a contact with a PENDING row is not queued


def test_initial_sync_leaves_out_failed_contacts_until_they_change(ines: Ines):
    enum_setup(ines)
    ines.features(push_lead=False, full_sync=False)
    bad = refused_contact(ines, "bad@x.example")
    ines.features(full_sync=True)
    for _ in range(4):
        ines.run()
    rows = ines.rows()
    assert [(r.status, r.counter) for r in rows] == [("FAILED", 3)]
    assert initial_sync(ines.integration) == 0
    ines.features(push_lead=False, full_sync=False)
    ines.edit(bad, custom={"confidential": "1"})
    ines.features(full_sync=True)
    assert initial_sync(ines.integration) == 1


# -- §3.16 journal, conformance 18 ----------------------------------------------------------------------------

def test_the_journal_lists_the_200_latest_rows_by_last_update(ines: Ines):
    start = utcnow() - timedelta(days=1)
    for n in range(230):
        InesSyncLog.create(integration=ines.integration, action="UPDATE", contact_id=n,
                           lead_email=f"c{n}@x.example", status="DONE", counter=1,
                           date_added=start, date_last_update=start + timedelta(minutes=n))
    InesSyncLog.update(date_last_update=utcnow(), status="FAILED", counter=3,
                       last_error="boom").where(InesSyncLog.contact_id == 3).execute()
    rows = queue.journal(ines.integration)
    assert len(rows) == 200
    assert rows[0].email == "c3@x.example" and rows[0].status == "FAILED"
    assert rows[1].email == "c229@x.example" and rows[-1].email == "c31@x.example"
    assert [r.email for r in queue.journal(ines.integration, offset=200, limit=50)][:2] == [
        "c30@x.example", "c29@x.example"]
    assert [r.email for r in queue.journal(ines.integration, status="FAILED")] == [
        "c3@x.example"]
    assert queue.journal_count(ines.integration) == 230


def test_retry_puts_failed_rows_back_to_pending_with_a_fresh_counter(ines: Ines):
    enum_setup(ines)
    bad = refused_contact(ines, "bad@x.example")
    for _ in range(3):
        ines.run()
    assert ines.rows()[0].status == "FAILED"
    assert queue.retry_failed(ines.integration) == 1
    row = ines.rows()[0]
    assert (row.status, row.counter, row.last_error) == ("PENDING", 0, None)
    ines.edit(bad, custom={"confidential": "1"})  # the admin fixed it: still one PENDING row
    assert len(ines.pending()) == 1
    ines.run()
    assert ines.refs(bad) == (5001, 1001)


# -- §3.3 getMapping, conformance 19 ----------------------------------------------------------------------------

def test_get_mapping_document_for_a_fixed_configuration(ines: Ines):
    config = InesConfig(3, 2, [], [])
    from connectors.ines.catalogue import CustomFieldInfo

    config.contact_custom_fields.append(CustomFieldInfo(17, "Secteur", "list", ("A", "B")))
    store_config(ines.integration, config)
    ensure_local_fields(["contact_17", "contact_Function"], config)
    text_field("genre")
    ines.map(contact_17="ines_contact_custom_17", contact_Function="ines_contact_function",
             client_Phone="company.phone", contact_Genre="genre")
    CustomField.delete().where(CustomField.key == "genre").execute()  # mapped, then deleted
    set_not_ecrasable(ines.integration, ["contact_Function", "client_CompanyName"])
    CustomField.delete().where(CustomField.key == "ines_contact_function").execute()
    text_field("ines_contact_function")
    document = get_mapping_document(ines.reload(), config)
    expected = {"mapping": [
        {"concept": "contact", "inesFieldKey": "InternalContactRef", "isCustomField": 0,
         "atmtFieldKey": "ines_contact_ref", "isEcrasable": 0},
        {"concept": "contact", "inesFieldKey": "InternalCompanyRef", "isCustomField": 0,
         "atmtFieldKey": "ines_client_ref", "isEcrasable": 0},
        {"concept": "contact", "inesFieldKey": "PrimaryMailAddress", "isCustomField": 0,
         "atmtFieldKey": "email", "isEcrasable": 0},
        {"concept": "contact", "inesFieldKey": "LastName", "isCustomField": 0,
         "atmtFieldKey": "last_name", "isEcrasable": 1},
        {"concept": "contact", "inesFieldKey": "FirstName", "isCustomField": 0,
         "atmtFieldKey": "first_name", "isEcrasable": 1},
        {"concept": "contact", "inesFieldKey": "Function", "isCustomField": 0,
         "atmtFieldKey": "ines_contact_function", "isEcrasable": 0},
        {"concept": "client", "inesFieldKey": "CompanyName", "isCustomField": 0,
         "atmtFieldKey": "company", "isEcrasable": 0},
        {"concept": "client", "inesFieldKey": "Phone", "isCustomField": 0,
         "atmtFieldKey": "company.phone", "isEcrasable": 1},
        {"concept": "contact", "inesFieldKey": "17", "isCustomField": 1,
         "atmtFieldKey": "ines_contact_custom_17", "isEcrasable": 1},
    ], "dontSyncFieldKey": "ines_stop_sync"}
    assert json.loads(json.dumps(document)) == expected
    for entry in document["mapping"]:
        assert list(entry) == ["concept", "inesFieldKey", "isCustomField", "atmtFieldKey",
                               "isEcrasable"]
    assert list(document) == ["mapping", "dontSyncFieldKey"]


def test_get_mapping_refs_are_always_there_and_stop_key_empty_when_unmapped(ines: Ines):
    save_mapping(ines.integration, {})
    document = get_mapping_document(ines.reload())
    assert [e["inesFieldKey"] for e in document["mapping"]] == [
        "InternalContactRef", "InternalCompanyRef", "CompanyName"]
    assert document["dontSyncFieldKey"] == ""


def test_get_mapping_of_unsaved_settings(ines: Ines):
    """The dialog asks about choices it has not saved: a settings dict is accepted."""
    from connectors.ines.mapping import get_mapping_json

    saved = dict(ines.reload().settings)
    unsaved = {"mapping": {"contact_Function": "job_title"},
               "not_ecrasable_fields": ["contact_Function"]}
    document = get_mapping_document(unsaved)
    assert [e["inesFieldKey"] for e in document["mapping"]] == [
        "InternalContactRef", "InternalCompanyRef", "Function", "CompanyName"]
    assert document["mapping"][2]["isEcrasable"] == 0 and document["dontSyncFieldKey"] == ""
    assert json.loads(get_mapping_json(unsaved)) == document
    assert MappingSettings.of({}).fields == MappingSettings.of(ines.reload()).fields  # defaults
    assert ines.reload().settings == saved  # nothing saved on the way


def test_leads_per_run_is_a_validated_setting_the_run_reads(ines: Ines):
    from connectors.ines.connector import counts_of
    from connectors.ines.mapping import leads_per_run, set_leads_per_run
    from core.sync.runner import run_sync

    assert leads_per_run(ines.integration) == 10
    for wrong in (0, -3, True, 2.0, "2", None):
        with pytest.raises(ValueError):
            set_leads_per_run(ines.reload(), wrong)  # type: ignore[arg-type]
    assert "leads_per_run" not in ines.reload().settings
    set_leads_per_run(ines.reload(), 2)
    assert ines.reload().settings["leads_per_run"] == 2 and leads_per_run(ines.integration) == 2
    assert leads_per_run({"leads_per_run": "junk"}) == 10
    for n in range(3):
        ines.contact(f"c{n}@durand.example")
    result = run_sync(ines.reload(), InesConnector())
    assert counts_of(result).lines()[0] == "2 updated of 2"


def test_saving_a_mapping_to_an_unknown_local_field_is_refused(ines: Ines):
    problems = save_mapping(ines.integration, {"contact_Function": "nope"})
    assert problems and "nope" in problems[0]


# -- §3.12 push, conformance 21, D5, D10 -----------------------------------------------------------------------

def test_a_failed_push_is_visible_and_keeps_the_pending_row(ines: Ines):
    contact = ines.contact()
    ines.api().get_sync_info()
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=2,
                         text="PaymentMethodRef must not be 0")
    summary = push_now(ines, contact)
    (outcome,) = summary.outcomes
    assert outcome.status == "failed" and "PaymentMethodRef" in outcome.message
    assert summary.failed == 1
    events = ines.history(contact)
    assert events[-1].level == "error" and "PaymentMethodRef" in events[-1].message
    push_rows = [r for r in ines.rows() if r.source == "push"]
    assert [(r.status, r.counter) for r in push_rows] == [("FAILED", 1)]
    assert push_rows[0].last_error
    assert [r.source for r in ines.pending()] == ["event"]  # D10


def test_a_successful_push_removes_pending_rows_and_adds_a_lead_on_update(ines: Ines):
    contact = synced(ines)
    ines.edit(contact, points=8)
    assert len(ines.pending()) == 1
    summary = push_now(ines, contact, activity="Form Contact us")
    assert summary.outcomes[0].status == "updated"
    assert ines.pending() == []
    (lead,) = ines.params("AddLead")
    assert lead["info"]["DescriptionCourte"] == "Lead ListBridge - Form Contact us"
    assert lead["info"]["MailExpe"] == "paul@durand.example"
    assert [(r.source, r.status, r.counter) for r in ines.rows()][-1] == ("push", "DONE", 1)
    assert ines.history(contact)[-1].kind == "ines_updated"


def test_a_push_needs_push_lead_and_a_published_integration(ines: Ines):
    contact = ines.contact()
    ines.features(push_lead=False, full_sync=False)
    summary = push_now(ines, contact)
    assert summary.outcomes[0].status == "ignored"
    assert "Push contacts" in summary.outcomes[0].message
    ines.features(push_lead=True)
    ines.integration.active = False
    ines.integration.save()
    assert push_now(ines, contact).outcomes[0].status == "ignored"
    assert ines.emulator.calls() == []


def test_a_list_push_ends_with_a_summary(ines: Ines):
    members = [ines.contact(f"m{n}@x.example") for n in range(2)]
    members.append(ines.contact("nocompany@x.example", company=None))
    mlist = MarketingList.create(name="Salon 2024")
    for contact in members:
        ListMember.create(mlist=mlist, contact=contact)
    summary = push_list(ines.reload(), mlist, read_secrets(ines.integration))
    assert summary.message == "Push to INES: 2 created, 1 ignored."
    assert ines.params("AddLead")[0]["info"]["DescriptionCourte"] == "Lead ListBridge - List Salon 2024"


def test_a_failed_lead_is_a_warning_not_a_failure(ines: Ines):
    contact = ines.contact()
    ines.api().get_sync_info()
    ines.emulator.inject("WSAutomationSync", "AddLead", "fault", times=2, text="no lead")
    summary = push_now(ines, contact)
    assert summary.outcomes[0].status == "created"
    assert summary.outcomes[0].warnings
    assert ines.refs(contact) == (5001, 1001)
    assert [e.level for e in ines.history(contact)][-2:] == ["info", "warning"]
    assert ines.rows()[-1].status == "DONE" and "lead" in ines.rows()[-1].last_error


def test_a_push_while_ines_is_unreachable_fails_every_contact_visibly(ines: Ines):
    contacts = [ines.contact(f"u{n}@x.example") for n in range(3)]
    ines.emulator.stop()
    forget_sessions()
    summary = push_now(ines, *contacts)
    assert summary.failed == 3
    assert all(ines.history(c)[-1].level == "error" for c in contacts)
    assert [r.status for r in ines.rows() if r.source == "push"] == ["FAILED"] * 3


def test_a_push_that_cannot_start_says_so_on_every_contact(ines: Ines):
    from core.sync.lock import AlreadyRunning, acquire

    contacts = [ines.contact(f"busy{n}@x.example") for n in range(2)]
    lease = acquire(ines.reload())
    try:
        with pytest.raises(AlreadyRunning):
            push(ines.reload(), [contacts[0], contacts[1].id], wait_timeout=0)
    finally:
        lease.release()
    for contact in contacts:
        (event,) = [e for e in ines.history(contact) if e.level == "error"]
        assert event.kind == "ines_failed" and event.integration_id == ines.integration.id
        assert event.message.startswith("Push to INES: not sent.") and "busy" in event.message
        assert event.email == contact.email
    assert ines.emulator.calls() == []
    assert [r.source for r in ines.rows()] == ["event", "event"]  # nothing else was written


def test_a_push_without_a_keyring_says_so_and_leaves_the_lock_free(ines: Ines,
                                                                   monkeypatch: Any):
    from core import secrets
    from core.models.sync import Integration

    contact = ines.contact()

    def no_keyring(*_args: Any) -> str:
        raise secrets.NoKeyringError("No secure system keyring is available.")

    monkeypatch.setattr(secrets, "read", no_keyring)
    with pytest.raises(secrets.NoKeyringError):
        push(ines.reload(), [contact.id])
    event = ines.history(contact)[-1]
    assert (event.level, event.kind) == ("error", "ines_failed")
    assert "No secure system keyring" in event.message
    assert Integration.get_by_id(ines.integration.id).lock_token is None
    assert ines.emulator.calls() == []


# -- listener: stop sync, full sync off ---------------------------------------------------------------------

def test_setting_stop_sync_removes_the_contact_from_the_queue(ines: Ines):
    contact = ines.contact()
    assert len(ines.pending()) == 1
    ines.edit(contact, custom={"ines_stop_sync": True})
    assert ines.pending() == []
    assert any(e.kind == "ines_unqueued" for e in ines.history(contact))
    ines.run()
    assert ines.ops("AddClientWithContacts") == []


def test_full_sync_and_push_off_queue_nothing(ines: Ines):
    ines.features(push_lead=False, full_sync=False)
    contact = ines.contact()
    ines.edit(contact, first_name="X")
    delete_record(Contact.get_by_id(contact.id))
    assert ines.rows() == []


# -- local fields, catalogue, mapping tab -----------------------------------------------------------------

def test_ensure_local_fields_creates_the_special_fields_and_suggestions(ines: Ines):
    CustomField.delete().execute()
    ensure_local_fields()
    kinds = {f.key: f.kind for f in CustomField.select()}
    assert kinds == {"ines_contact_ref": "number", "ines_client_ref": "number",
                     "ines_stop_sync": "boolean"}
    config = InesConfig(lookups={"contact_types": [(3, "Prospect"), (4, "Client")]})
    ensure_local_fields(["contact_Type", "contact_NPai", "contact_DateOfBirth"], config)
    fields = {f.key: f for f in CustomField.select()}
    assert fields["ines_contact_type"].kind == "choice"
    assert fields["ines_contact_type"].choices == ["3 - Prospect", "4 - Client"]
    assert fields["ines_contact_npai"].kind == "boolean"
    assert fields["ines_contact_dateofbirth"].kind == "date"
    ensure_local_fields()  # twice is harmless
    assert CustomField.select().count() == 6


def test_catalogue_order_fixed_fields_and_mapping_rows(ines: Ines):
    keys = [f.mapping_key for f in catalogue()]
    assert keys[:3] == ["contact_InternalContactRef", "contact_InternalCompanyRef",
                        "contact_PrimaryMailAddress"]
    assert keys.index("client_CompanyName") == len(CONTACT_FIELDS)
    fixed = sorted(f.mapping_key for f in catalogue() if f.fixed)
    assert fixed == sorted(["contact_InternalContactRef", "contact_InternalCompanyRef",
                            "contact_PrimaryMailAddress", "contact_NPai", "client_CompanyName"])
    choices = [k for k, _ in InesConnector().not_overwritable_choices(ines.integration)]
    assert not set(fixed) & set(choices) and "contact_Function" in choices
    rows = mapping_rows(ines.integration)
    assert rows[0].local_key == "ines_contact_ref"
    company = next(r for r in rows if r.ines_field.key == "CompanyName")
    assert not company.editable and company.local_key == "company"
    phone = next(r for r in rows if r.ines_field.mapping_key == "client_Phone")
    assert any(o.key == "company.phone" for o in phone.options)


# -- D3: secrets ------------------------------------------------------------------------------------------

def test_the_password_reaches_neither_database_journal_nor_log(ines: Ines, profile: Any):
    from core.logs import setup_logging

    path = setup_logging(profile.log_dir, logging.DEBUG)
    try:
        enum_setup(ines)
        refused_contact(ines, "bad@x.example")
        ines.contact("good@x.example")
        ines.run()
        sessions = ines.emulator.session_ids()
        ines.emulator.set_credentials("ACME", "jdupont", "changed-password")
        forget_sessions()
        with pytest.raises(RunStopped):
            ines.run()
    finally:
        root = logging.getLogger("listbridge")
        for handler in list(root.handlers):
            if getattr(handler, "_listbridge", False):
                root.removeHandler(handler)
                handler.close()
        root.propagate = True
    assert path is not None and path.stat().st_size > 0
    raw = b"".join(p.read_bytes() for p in profile.root.rglob("*") if p.is_file())
    assert PASSWORD.encode() not in raw
    assert sessions and not [s for s in sessions if s.encode() in raw]  # no session id either
    for row in HistoryEvent.select():
        assert PASSWORD not in row.message
    assert all(PASSWORD not in (r.last_error or "") for r in ines.rows())


def test_custom_values_of_refs_are_numbers(ines: Ines):
    contact = synced(ines)
    assert custom_values("contact", contact.id)["ines_contact_ref"] == 5001


# -- the scheduled run through the engine ------------------------------------------------------------

def test_an_unreadable_sync_info_stops_the_run_before_any_row(ines: Ines):
    ines.contact()
    ines.api().get_sync_info()
    ines.emulator.inject("WSAutomationSync", "GetSyncInfo", "malformed_xml", times=2)
    with pytest.raises(RunStopped) as stopped:
        ines.run()
    assert isinstance(stopped.value.error, TransientError)
    assert [(r.status, r.counter) for r in ines.rows()] == [("PENDING", 0)]


def test_the_scheduled_run_goes_through_the_engine(ines: Ines):
    from connectors.ines.connector import counts_of
    from core.sync.runner import run_sync

    ines.features(push_lead=False, full_sync=False)
    contact = ines.contact()
    result = run_sync(ines.reload(), InesConnector())
    assert result.status == "succeeded" and ines.emulator.calls() == []
    ines.features(full_sync=True)
    first = run_sync(ines.reload(), InesConnector())
    assert first.status == "succeeded", first.message
    assert counts_of(first).lines() == ["0 updated of 0", "0 deleted of 0",
                                        "1 enqueued (initial sync)"]
    second = run_sync(ines.reload(), InesConnector())
    assert counts_of(second).lines()[0] == "1 updated of 1"
    assert ines.refs(contact) == (5001, 1001)
    assert all(e.run_id == second.run_id for e in ines.history(contact))
    ines.emulator.set_credentials("ACME", "jdupont", "changed-password")
    forget_sessions()
    ines.edit(contact, points=5)
    refused = run_sync(ines.reload(), InesConnector())
    assert (refused.status, refused.error_kind) == ("failed", "configuration")
    assert ines.pending()[0].counter == 0

"""The INES field catalogue (ines.md §3.2): what the mapping tab lists, in order, and what it suggests.

Standard contact fields, then client fields, then the INES custom fields ``GetSyncInfo`` exposes
(contact ones first), each identified by ``<concept>_<inesKey>`` (custom fields:
``<concept>_<InesID>``). Fixed fields (``*`` in §3.2) are never overwritable and are not offered as
non-overwritable checkboxes.

The configuration the catalogue needs from INES (``GetSyncInfo`` and the five lookup lists) is
cached per integration in ``InesConfigCache`` so that the mapping tab opens without the network;
it is dropped when the settings dialog opens or on refresh (§3.1).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.ines.models import InesConfigCache
from core.clock import utcnow
from core.models.sync import Integration

if TYPE_CHECKING:
    from connectors.ines.client import InesApi

CONTACT, CLIENT = "contact", "client"
CONTACT_REF, CLIENT_REF, STOP_SYNC = "InternalContactRef", "InternalCompanyRef", "dontSyncToInes"
CONTACT_REF_KEY = f"{CONTACT}_{CONTACT_REF}"
CLIENT_REF_KEY = f"{CONTACT}_{CLIENT_REF}"
STOP_SYNC_KEY = STOP_SYNC  # the mapping row of the stop-sync indicator (not an INES field)
COMPANY_NAME_KEY = f"{CLIENT}_CompanyName"
COMPANY_PREFIX = "company."  # local keys of the contact's primary company: company.phone, ...

# The special local fields ListBridge offers to create (§3.1), with their kinds and labels.
SPECIAL_LOCAL_FIELDS: dict[str, tuple[str, str, str]] = {
    CONTACT_REF_KEY: ("ines_contact_ref", "number", "INES contact ID"),
    CLIENT_REF_KEY: ("ines_client_ref", "number", "INES client ID"),
    STOP_SYNC_KEY: ("ines_stop_sync", "boolean", "Stop sync INES"),
}

CONFIDENTIALITY_CHOICES = ("-1 - Read only", "0 - Read/write", "1 - Confidential")
RANG_CHOICES = ("0 - Secondary", "1 - Principal", "2 - Archived")

LOOKUPS = ("contact_types", "client_types", "origins", "users", "hr_users")


@dataclass(frozen=True)
class InesField:
    """One row of the mapping tab."""

    concept: str  # contact | client
    key: str  # inesFieldKey: the XML name, or a custom field's InesID in decimal
    label: str
    wire: str  # str int num dt flag; "cf" for INES custom fields (sent as text)
    kind: str  # the suggested local field's kind: text number boolean date choice
    fixed: bool = False  # never overwritable, no checkbox
    required: bool = False
    custom: bool = False
    suggested: str = ""  # the local field ListBridge suggests creating
    prefilled: str = ""  # mapped by default (the plugin's automatic mappings)
    choices_from: str = ""  # a lookup of LOOKUPS providing the choices
    choices: tuple[str, ...] = ()  # fixed choices, "<key> - <label>"
    company_attr: str = ""  # unmapped client field: the primary company's attribute (§3.2)
    cf_type: str = ""  # INES custom field type
    optional: bool = False  # 2019+ members, sent only when mapped
    automatic: bool = False  # CompanyName: always the primary company's name, not editable

    @property
    def mapping_key(self) -> str:
        return f"{self.concept}_{self.key}"

    @property
    def offers_checkbox(self) -> bool:
        """Shown among the non-overwritable checkboxes of the Features tab."""
        return not self.fixed


def _std(concept: str, key: str, label: str, wire: str = "str", kind: str = "text",
         **extra: Any) -> InesField:
    suggested = extra.pop("suggested", f"ines_{concept}_{key.lower()}")
    return InesField(concept, key, label, wire, kind, suggested=suggested, **extra)


CONTACT_FIELDS: tuple[InesField, ...] = (
    _std(CONTACT, CONTACT_REF, "INES contact reference", "int", "number", fixed=True,
         required=True, suggested="ines_contact_ref", prefilled="ines_contact_ref"),
    _std(CONTACT, CLIENT_REF, "INES client reference", "int", "number", fixed=True,
         required=True, suggested="ines_client_ref", prefilled="ines_client_ref"),
    _std(CONTACT, "PrimaryMailAddress", "Email", fixed=True, required=True, suggested="email",
         prefilled="email"),
    _std(CONTACT, "Genre", "Title (Genre)"),
    _std(CONTACT, "LastName", "Last name", suggested="last_name", prefilled="last_name"),
    _std(CONTACT, "FirstName", "First name", suggested="first_name", prefilled="first_name"),
    _std(CONTACT, "Function", "Function"),
    _std(CONTACT, "Type", "Contact type", "int", "choice", choices_from="contact_types"),
    _std(CONTACT, "Service", "Department (Service)"),
    _std(CONTACT, "BussinesTelephone", "Business telephone"),
    _std(CONTACT, "HomeTelephone", "Home telephone"),
    _std(CONTACT, "MobilePhone", "Mobile phone"),
    _std(CONTACT, "Fax", "Fax"),
    _std(CONTACT, "HomeAddress", "Address 1"),
    _std(CONTACT, "BusinessAddress", "Address 2"),
    _std(CONTACT, "ZipCode", "Postal code"),
    _std(CONTACT, "City", "City"),
    _std(CONTACT, "State", "State"),
    _std(CONTACT, "Country", "Country"),
    _std(CONTACT, "Language", "Language"),
    _std(CONTACT, "Author", "Author (INES user)", "int", "choice", choices_from="users"),
    _std(CONTACT, "Comment", "Comment"),
    _std(CONTACT, "Confidentiality", "Confidentiality", "str", "choice",
         choices=CONFIDENTIALITY_CHOICES),
    _std(CONTACT, "DateOfBirth", "Date of birth", "dt", "date"),
    _std(CONTACT, "Rang", "Rank (Rang)", "str", "choice", choices=RANG_CHOICES),
    _std(CONTACT, "SecondaryMailAddress", "Secondary email"),
    _std(CONTACT, "NPai", "Mail returned (NPai)", "flag", "boolean", fixed=True,
         suggested="ines_contact_npai", prefilled="ines_contact_npai"),
)

CLIENT_FIELDS: tuple[InesField, ...] = (
    _std(CLIENT, "CompanyName", "Company name", fixed=True, required=True, suggested="company",
         prefilled="company", automatic=True),
    _std(CLIENT, "Type", "Client type", "int", "choice", choices_from="client_types"),
    _std(CLIENT, "Manager", "Manager (INES user)", "int", "choice", choices_from="users"),
    _std(CLIENT, "SalesResponsable", "Sales representative", "int", "choice",
         choices_from="hr_users"),
    _std(CLIENT, "TechnicalResponsable", "Technical representative", "int", "choice",
         choices_from="users"),
    _std(CLIENT, "Phone", "Phone", company_attr="phone"),
    _std(CLIENT, "Fax", "Fax", company_attr="fax"),
    _std(CLIENT, "Address1", "Address 1", company_attr="street"),
    _std(CLIENT, "Address2", "Address 2", company_attr="street2"),
    _std(CLIENT, "ZipCode", "Postal code", company_attr="postal_code"),
    _std(CLIENT, "City", "City", company_attr="city"),
    _std(CLIENT, "State", "State", company_attr="state"),
    _std(CLIENT, "Country", "Country", company_attr="country"),
    _std(CLIENT, "Origin", "Origin", "int", "choice", choices_from="origins"),
    _std(CLIENT, "Website", "Website", company_attr="website"),
    _std(CLIENT, "Confidentiality", "Confidentiality", "str", "choice",
         choices=CONFIDENTIALITY_CHOICES),
    _std(CLIENT, "Comments", "Comments"),
    _std(CLIENT, "CustomerNumber", "Customer number", "int", "number"),
    _std(CLIENT, "Language", "Language"),
    _std(CLIENT, "Activity", "Activity"),
    _std(CLIENT, "Scoring", "Scoring"),
    _std(CLIENT, "Effectif", "Headcount (Effectif)", "int", "number", optional=True),
    _std(CLIENT, "CA", "Turnover (CA)", "num", "number", optional=True),
)

STANDARD_FIELDS: tuple[InesField, ...] = CONTACT_FIELDS + CLIENT_FIELDS
FIXED_KEYS = frozenset(f.mapping_key for f in STANDARD_FIELDS if f.fixed)

# INES custom field type → local field kind (§3.2); url has no kind of its own in the store.
CF_LOCAL_KIND = {"text": "text", "url": "text", "list": "choice", "user": "choice",
                 "numeral": "number", "boolean": "boolean", "date": "date"}


# -- configuration (GetSyncInfo + lookups) --------------------------------------------------------

@dataclass(frozen=True)
class CustomFieldInfo:
    ines_id: int
    name: str
    type: str
    values: tuple[str, ...] = ()


@dataclass
class InesConfig:
    """What INES tells us about itself; the sync and the mapping tab read it."""

    lead_ref: int = 0
    societe_type: int = 0
    contact_custom_fields: list[CustomFieldInfo] = field(default_factory=list)
    client_custom_fields: list[CustomFieldInfo] = field(default_factory=list)
    lookups: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    fetched_at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> InesConfig:
        def cfs(items: Any) -> list[CustomFieldInfo]:
            return [CustomFieldInfo(int(i["ines_id"]), str(i["name"]), str(i["type"]),
                                    tuple(i.get("values") or ())) for i in items or ()]

        return cls(int(data.get("lead_ref", 0)), int(data.get("societe_type", 0)),
                   cfs(data.get("contact_custom_fields")), cfs(data.get("client_custom_fields")),
                   {name: [(int(k), str(v)) for k, v in items]
                    for name, items in dict(data.get("lookups") or {}).items()},
                   str(data.get("fetched_at", "")))

    def choices(self, lookup: str) -> tuple[str, ...]:
        return tuple(f"{key} - {label}" for key, label in self.lookups.get(lookup, ()))


def fetch_config(client: InesApi, with_lookups: bool = True) -> InesConfig:
    """Read ``GetSyncInfo`` (and the five lookups) from INES."""
    info = client.get_sync_info()

    def cfs(defs: Any) -> list[CustomFieldInfo]:
        return [CustomFieldInfo(d.ines_id, d.name, d.type, d.values) for d in defs]

    config = InesConfig(info.lead_ref, info.societe_type, cfs(info.contact_custom_fields),
                        cfs(info.company_custom_fields),
                        fetched_at=utcnow().isoformat(timespec="seconds"))
    if with_lookups:
        for name, read in (("contact_types", client.contact_types),
                           ("client_types", client.client_types), ("origins", client.origins),
                           ("users", client.users), ("hr_users", client.hr_users)):
            config.lookups[name] = [(item.key, item.label) for item in read()]
    return config


def cached_config(integration: Integration) -> InesConfig | None:
    row = InesConfigCache.get_or_none(InesConfigCache.integration == integration)
    return InesConfig.from_data(row.data) if row is not None else None


def store_config(integration: Integration, config: InesConfig) -> None:
    InesConfigCache.insert(integration=integration, fetched_at=utcnow(),
                           data_json=config.to_json()).on_conflict(
        conflict_target=[InesConfigCache.integration],
        update={InesConfigCache.fetched_at: utcnow(),
                InesConfigCache.data_json: config.to_json()}).execute()


def drop_config(integration: Integration) -> None:
    """The settings dialog opened: the next read asks INES again (§3.1)."""
    InesConfigCache.delete().where(InesConfigCache.integration == integration).execute()


# -- the catalogue ---------------------------------------------------------------------------------

# How INES names often say their concept already: "Secteur (société)", "Notes (contact)".
_CONCEPT_WORDS = {CONTACT: ("contact", "contacts", "personne", "person"),
                  CLIENT: ("company", "client", "clients", "societe", "société", "sociétés",
                           "entreprise", "compte", "account")}


def _folded(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def custom_field_label(concept: str, name: str) -> str:
    """``InesName (contact|company)`` (§3.2), unless the INES name already ends with its
    concept in brackets ("Text (société)" stays as it is, not "Text (société) (company)")."""
    word = "contact" if concept == CONTACT else "company"
    name = name.strip()
    if name.endswith(")") and "(" in name:
        last = _folded(name[name.rindex("(") + 1:-1].strip())
        if last in {_folded(w) for w in _CONCEPT_WORDS.get(concept, ())}:
            return name
    return f"{name} ({word})" if name else f"({word})"


def custom_field(concept: str, info: CustomFieldInfo, config: InesConfig | None = None) -> InesField:
    kind = CF_LOCAL_KIND.get(info.type, "text")
    choices: tuple[str, ...] = ()
    if info.type == "list":
        choices = tuple(v for v in info.values if v.strip())
    elif info.type == "user" and config is not None:
        choices = config.choices("users")
    return InesField(concept, str(info.ines_id), custom_field_label(concept, info.name), "cf", kind,
                     custom=True, suggested=f"ines_{concept}_custom_{info.ines_id}",
                     choices=choices, cf_type=info.type,
                     choices_from="users" if info.type == "user" else "")


def catalogue(config: InesConfig | None = None) -> list[InesField]:
    """Every INES field in the order of the mapping tab and of getMapping (§3.2)."""
    fields = list(STANDARD_FIELDS)
    if config is not None:
        fields += [custom_field(CONTACT, cf, config) for cf in config.contact_custom_fields]
        fields += [custom_field(CLIENT, cf, config) for cf in config.client_custom_fields]
    return fields


def field_choices(ines_field: InesField, config: InesConfig | None) -> tuple[str, ...]:
    """The choices a local choice field for this INES field offers ("<key> - <label>")."""
    if ines_field.choices:
        return ines_field.choices
    if ines_field.choices_from and config is not None:
        return config.choices(ines_field.choices_from)
    return ()


def by_key(config: InesConfig | None = None) -> dict[str, InesField]:
    return {f.mapping_key: f for f in catalogue(config)}

"""The demo data set (§5.6)."""

from __future__ import annotations

from typing import Any

from connectors.ines.emulator.state import (
    CF_TYPES,
    CONCEPTS,
)

# --- demo data ---------------------------------------------------------------------------------


def demo_seed() -> dict[str, Any]:
    """The demo data of §5.3: users, types, origins, clients with contacts and one custom field
    per type and concept (plus one of an unsupported type, which clients must ignore).

    Ids are explicit so that the custom-field values below point at the right objects."""
    definitions = []
    labels = {"contact": "contact", "client": "société", "lead": "affaire"}
    first_id = {"contact": 11, "client": 41, "lead": 71}
    for concept in CONCEPTS:
        for offset, cf_type in enumerate(CF_TYPES):
            definitions.append(
                {
                    "InesID": first_id[concept] + offset,
                    "concept": concept,
                    "name": f"{cf_type.capitalize()} ({labels[concept]})",
                    "type": cf_type,
                    "values": ["Industrie", "Services", "Commerce"] if cf_type == "list" else [],
                    "exposed": concept != "lead",  # GetSyncInfo lists contact and company fields
                }
            )
    definitions.append(
        {"InesID": 30, "concept": "contact", "name": "Notes internes", "type": "memo"}
    )
    return {
        "sync_info": {"LeadRef": 3, "SocieteType": 2},
        "lookups": _demo_lookups(),
        "cf_definitions": definitions,
        "clients": _demo_clients(),
        "cf_values": [
            {"concept": "contact", "owner": 5001, "definition": 11, "value": "Client fidèle"},
            {"concept": "client", "owner": 1001, "definition": 43, "value": "Industrie"},
        ],
    }


def _demo_lookups() -> dict[str, list[dict[str, Any]]]:
    return {
        "client_types": [
            {"InternalRef": 1, "Description": "Client", "Order": 2},
            {"InternalRef": 2, "Description": "Prospect", "Order": 1},
            {"InternalRef": 3, "Description": "Partenaire", "Order": 3},
        ],
        "contact_types": [
            {"InternalRef": 1, "Description": "Décideur", "Order": 1},
            {"InternalRef": 2, "Description": "Utilisateur", "Order": 2},
            {"InternalRef": 3, "Description": "Comptabilité", "Order": 2},
        ],
        "origins": [
            {"InternalRef": 1, "Description": "Salon"},
            {"InternalRef": 2, "Description": "Site web"},
            {"InternalRef": 3, "Description": "Recommandation"},
        ],
        "users": [
            {"UserRef": 1, "RHRef": 11, "LastName": "Martin", "FirstName": "Claire"},
            {"UserRef": 2, "RHRef": 12, "LastName": "Bernard", "FirstName": "Luc"},
            {"UserRef": 3, "RHRef": 0, "LastName": "Petit", "FirstName": "Inès"},
        ],
    }


def _demo_clients() -> list[dict[str, Any]]:
    def contact(ref: int, first: str, last: str, email: str, **extra: Any) -> dict[str, Any]:
        return {
            "InternalRef": ref,
            "FirstName": first,
            "LastName": last,
            "PrimaryMailAddress": email,
            "Type": 1,
            **extra,
        }

    return [
        {
            "InternalRef": 1001,
            "CompanyName": "Durand SA",
            "Type": 1,
            "Address1": "12 rue des Lilas",
            "ZipCode": "69003",
            "City": "Lyon",
            "Country": "France",
            "Phone": "04 72 00 00 01",
            "Origin": 1,
            "Manager": 1,
            "Contacts": [
                contact(
                    5001, "Paul", "Durand", "paul@durand.example", Function="Directeur", Scoring=15
                ),
                contact(5002, "Anne", "Durand", "anne@durand.example", Type=2),
            ],
        },
        {
            "InternalRef": 1002,
            "CompanyName": "Atelier Moreau",
            "Type": 2,
            "City": "Nantes",
            "Country": "France",
            "Website": "https://moreau.example",
            "Origin": 2,
            "Contacts": [contact(5003, "Julie", "Moreau", "julie@moreau.example", Desabo=1)],
        },
        {
            "InternalRef": 1003,
            "CompanyName": "Lefèvre & Fils",
            "Type": 3,
            "City": "Lille",
            "Country": "France",
            "Contacts": [
                contact(
                    5004,
                    "Marc",
                    "Lefèvre",
                    "marc@lefevre.example",
                    DateOfBirth="1970-05-17T00:00:00",
                ),
                contact(5005, "Sophie", "Roux", "sophie@lefevre.example", NPai=1),
            ],
        },
    ]

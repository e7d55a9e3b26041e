"""The CleverReach settings of one integration, in the seed's terms (owner: the sync part of
issue 9; the names below are the agreed interface, the sync part may add to it).

Stored in ``Integration.settings`` (never a secret). The Dynamics keys (seed 004 §6, api §3.1)
map to these fields:

=============================  ===============================  =======
Dynamics key                    field                            default
=============================  ===============================  =======
groupprefix                     group_prefix                     ""
typjson                         newsletter_types (core types)    –
entity                          transfer_contacts / _companies /  all on
                                _leads
disablecontact, disablelead     deactivate_contact_on_bounce,    off
                                deactivate_lead_on_bounce
(ListBridge)                    deactivate_contact_on_unsubscribe same as bounce
                                deactivate_lead_on_unsubscribe
deletecampaign                  delete_group_with_record         off
deletedisablesynchronization    delete_group_when_sync_off       off
deleteprotection, priority      delete_protection, priority      off, 0
sublistcount                    sublist_count                    500
updaterequestcount              update_batch_size                500
updatereceiverstate, synclead   receiver_state_minutes,           60, 60
                                lead_sync_minutes
=============================  ===============================  =======
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.sync import Integration


@dataclass
class CleverReachSettings:
    group_prefix: str = ""
    transfer_contacts: bool = True
    transfer_companies: bool = True
    transfer_leads: bool = True
    deactivate_contact_on_bounce: bool = False
    deactivate_lead_on_bounce: bool = False
    deactivate_contact_on_unsubscribe: bool = False
    deactivate_lead_on_unsubscribe: bool = False
    delete_group_with_record: bool = False
    delete_group_when_sync_off: bool = False
    delete_protection: bool = False
    priority: int = 0
    sublist_count: int = 500
    update_batch_size: int = 500
    receiver_state_minutes: int = 60
    lead_sync_minutes: int = 60


def load(integration: Integration) -> CleverReachSettings:
    raise NotImplementedError("issue 9: CleverReach settings")


def save(integration: Integration, settings: CleverReachSettings) -> None:
    raise NotImplementedError("issue 9: CleverReach settings")

"""The Dotmailer campaign steps (``shared/api/dotmailer.md`` §3.2): email campaigns (step 4),
contact activities (step 8) and campaign summaries (step 9). They build on the run's shared state
and helpers of ``sync``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from connectors.base import ConfigurationError, FatalError, RateLimited, TransientError
from connectors.dotmailer import bulk
from connectors.dotmailer.client import (
    RemoteGone,
    as_bool,
    as_date,
    as_float,
    as_int,
    as_text,
    enum_value,
)
from connectors.dotmailer.models import (
    SUMMARY_FIELDS,
    CampaignSummary,
    ContactActivity,
    EmailCampaign,
    EmailCampaignBook,
)
from connectors.dotmailer.sync import (
    JOURNAL_KIND,
    MARK_ACTIVITY,
    OVERLAP,
    SUMMARY_EVERY,
    RunState,
    connected_books,
    get_mark,
    run_state,
    save_mark,
    unlink_gone_book,
)
from core.clock import utcnow
from core.db import database_proxy
from core.models.sync import Integration
from core.sync.context import SyncContext

log = logging.getLogger("listbridge.dotmailer")

# -- step 4: campaigns -----------------------------------------------------------------------------

def sync_campaigns(ctx: SyncContext) -> None:
    """E16 per connected book; campaigns no longer seen are marked deleted, never removed."""
    state = run_state(ctx)
    integration = ctx.integration
    seen: set[int] = set()
    complete = True
    for book in connected_books(integration):
        ctx.check_cancel()
        try:
            items = [item for page in state.client.book_campaigns(book.remote_id)
                     for item in page]
        except RemoteGone:
            unlink_gone_book(ctx, book)
            continue
        except RateLimited:
            raise
        except TransientError as exc:
            complete = False
            ctx.journal(f"Campaigns of “{book.name}” could not be read: {exc.admin_message}",
                        level="warning", kind=JOURNAL_KIND)
            continue
        with database_proxy.atomic():
            for item in items:
                campaign = _upsert_campaign(integration, item)
                seen.add(campaign.remote_id)
                (EmailCampaignBook.insert(campaign=campaign, book=book)
                 .on_conflict_ignore().execute())
    if complete:
        (EmailCampaign.update(deleted=True)
         .where(EmailCampaign.integration == integration, EmailCampaign.deleted == False,  # noqa: E712
                EmailCampaign.remote_id.not_in(sorted(seen) or [-1])).execute())
    ctx.count("campaigns", len(seen))


def _upsert_campaign(integration: Integration, item: dict[str, Any]) -> EmailCampaign:
    remote_id = as_int(item.get("id"))
    campaign = EmailCampaign.get_or_none(EmailCampaign.integration == integration,
                                         EmailCampaign.remote_id == remote_id)
    if campaign is None:
        campaign = EmailCampaign(integration=integration, remote_id=remote_id)
    sender = item.get("fromaddress")
    campaign.name = as_text(item.get("name"))[:255]
    campaign.subject = as_text(item.get("subject"))[:255]
    campaign.from_name = as_text(item.get("fromname"))[:255]
    campaign.from_email = as_text(sender.get("email")) if isinstance(sender, dict) else ""
    campaign.reply_action = enum_value(item.get("replyaction"))
    campaign.is_split_test = as_bool(item.get("issplittest"))
    campaign.status = enum_value(item.get("status"))
    campaign.deleted = False
    campaign.seen_at = utcnow()
    campaign.save()
    return campaign


# -- step 8: activities ----------------------------------------------------------------------------

ACTIVITY_COLUMNS = ["campaign", "remote_contact_id", "email", "email_key", "num_opens",
                    "num_page_views", "num_clicks", "num_forwards", "num_estimated_forwards",
                    "num_replies", "date_sent", "date_first_opened", "date_last_opened",
                    "first_open_ip", "unsubscribed", "soft_bounced", "hard_bounced", "updated"]


def sent_campaigns(integration: Integration) -> list[EmailCampaign]:
    return list(EmailCampaign.select().where(
        EmailCampaign.integration == integration, EmailCampaign.status == "Sent",
        EmailCampaign.deleted == False).order_by(EmailCampaign.remote_id))  # noqa: E712


def sync_activities(ctx: SyncContext) -> None:
    """E19 while a campaign has none stored, then E20 since its watermark less 10 minutes, for
    the campaigns E17 names as active since the last read (one call instead of one each)."""
    state = run_state(ctx)
    campaigns = sent_campaigns(ctx.integration)
    mark = get_mark(ctx.integration, MARK_ACTIVITY)
    active = _active_campaigns(ctx, state, mark) if mark is not None and campaigns else None
    for campaign in campaigns:
        ctx.check_cancel()
        since = campaign.activities_synced_at
        if (active is not None and since is not None and mark is not None and since >= mark
                and campaign.remote_id not in active):
            pager = None  # E17 saw no activity since this campaign's last read
        elif since is None:
            pager = state.client.activities(campaign.remote_id)
        else:
            pager = state.client.activities_since(campaign.remote_id, since - OVERLAP)
        read = 0
        try:
            for page in pager or []:
                read += store_activities(campaign, page)
                ctx.progress(read, None, campaign.name)
                ctx.check_cancel()
        except RemoteGone:
            EmailCampaign.update(deleted=True).where(EmailCampaign.id == campaign.id).execute()
            continue
        EmailCampaign.update(activities_synced_at=state.started_at).where(
            EmailCampaign.id == campaign.id).execute()
        if read:
            state.active_campaigns.add(campaign.id)
        ctx.count("activities", read)
    save_mark(ctx.integration, MARK_ACTIVITY, state.started_at)


def _active_campaigns(ctx: SyncContext, state: RunState, mark: datetime) -> set[int] | None:
    """Remote ids of campaigns with activity since ``mark`` less the overlap (E17); None when
    E17 cannot be read (then every campaign is read)."""
    try:
        return {as_int(c.get("id")) for page in state.client.campaigns_with_activity(
            mark - OVERLAP) for c in page}
    except RateLimited:
        raise
    except (TransientError, FatalError, RemoteGone) as exc:
        log.info("E17 unavailable (%s); reading every campaign's activity", exc)
        return None


def store_activities(campaign: EmailCampaign, page: list[dict[str, Any]]) -> int:
    """Upsert a page on (campaign, remote contact id)."""
    now = utcnow()
    rows = []
    for item in page:
        contact_id = item.get("contactid")
        if contact_id is None:
            continue
        email = as_text(item.get("email")).strip()
        rows.append((
            campaign.id, as_int(contact_id), email, email.lower(), as_int(item.get("numopens")),
            as_int(item.get("numpageviews")), as_int(item.get("numclicks")),
            as_int(item.get("numforwards")), as_int(item.get("numestimatedforwards")),
            as_int(item.get("numreplies")), as_date(item.get("datesent")),
            as_date(item.get("datefirstopened")), as_date(item.get("datelastopened")),
            as_text(item.get("firstopenip"))[:64], as_bool(item.get("unsubscribed")),
            as_bool(item.get("softbounced")), as_bool(item.get("hardbounced")), now))
    with database_proxy.atomic():
        bulk.upsert_many(ContactActivity, ACTIVITY_COLUMNS, ["campaign", "remote_contact_id"], rows)
    return len(rows)


# -- step 9: summaries -----------------------------------------------------------------------------

def sync_summaries(ctx: SyncContext) -> None:
    """E21 for sent campaigns only (D9): never read, with new activity, or daily. One
    campaign's error is journalled and skipped."""
    state = run_state(ctx)
    summaries: Any = (CampaignSummary.select(CampaignSummary.campaign, CampaignSummary.fetched_at)
                      .join(EmailCampaign)
                      .where(EmailCampaign.integration == ctx.integration).tuples())
    fetched: dict[int, datetime] = dict(summaries)
    for campaign in sent_campaigns(ctx.integration):
        ctx.check_cancel()
        last = fetched.get(campaign.id)
        if (last is not None and campaign.id not in state.active_campaigns
                and utcnow() - last < SUMMARY_EVERY):
            continue
        try:
            data = state.client.summary(campaign.remote_id)
        except RemoteGone:
            EmailCampaign.update(deleted=True).where(EmailCampaign.id == campaign.id).execute()
            continue
        except (RateLimited, ConfigurationError):
            raise
        except (TransientError, FatalError) as exc:
            log.warning("Summary of campaign %s skipped: %s", campaign.remote_id, exc)
            ctx.journal(f"The summary of “{campaign.name}” could not be read: "
                        f"{exc.admin_message}", level="warning", kind=JOURNAL_KIND)
            continue
        store_summary(campaign, data)
        ctx.count("summaries")


def store_summary(campaign: EmailCampaign, data: dict[str, Any]) -> CampaignSummary:
    summary = CampaignSummary.get_or_none(CampaignSummary.campaign == campaign) or CampaignSummary(
        campaign=campaign)
    for attr, key, kind in SUMMARY_FIELDS:
        value = data.get(key.lower())
        if kind == "date":
            setattr(summary, attr, as_date(value))
        elif kind == "int":
            setattr(summary, attr, as_int(value))
        elif kind == "float":
            setattr(summary, attr, as_float(value))
        else:
            setattr(summary, attr, as_text(value)[:64])
    summary.raw_json = json.dumps(data, sort_keys=True, default=str)
    summary.fetched_at = utcnow()
    with database_proxy.atomic():
        summary.save()
        campaign.summary_synced_at = summary.fetched_at
        if summary.date_sent is not None:
            campaign.date_sent = summary.date_sent
        campaign.save()
    return summary

"""Campaigns, their activities and summaries: E16-E21."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from connectors.dotmailer.emulator.helpers import (
    _as_datetime,
)
from connectors.dotmailer.emulator.server import (
    EmulatorCore,
)
from connectors.dotmailer.emulator.state import (
    SUMMARY_TRIPLES,
    Activity,
    Campaign,
    _ApiError,
    _Call,
)


class CampaignsMixin(EmulatorCore):
    # -- campaigns -------------------------------------------------------------------------------

    def _campaign_for(self, call: _Call) -> Campaign:
        campaign = self._state.campaigns.get(self._int_param(call, "campaign"))
        if campaign is None or campaign.account != call.account:
            raise self._error("ERROR_CAMPAIGN_NOT_FOUND")
        return campaign

    def _campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "id": campaign.id,
            "name": campaign.name,
            "subject": campaign.subject,
            "fromName": campaign.from_name,
            "fromAddress": {"id": campaign.from_address_id, "email": campaign.from_email},
            "htmlContent": None,
            "plainTextContent": None,
            "replyAction": campaign.reply_action,
            "replyToAddress": campaign.reply_to,
            "isSplitTest": campaign.is_split_test,
            "status": campaign.status,
        }

    def _activities(self, campaign: Campaign) -> list[Activity]:
        return list(self._state.activities_of(campaign.id).values())

    def _activity_json(self, campaign: Campaign, act: Activity) -> dict[str, Any]:
        return {
            "contactId": act.contact,
            "email": act.email,
            "numOpens": act.opens,
            "numPageViews": act.page_views,
            "numClicks": act.clicks,
            "numForwards": act.forwards,
            "numEstimatedForwards": act.estimated_forwards,
            "numReplies": act.replies,
            "dateSent": self._date(act.date_sent or campaign.date_sent),
            "dateFirstOpened": self._date(act.first_opened),
            "dateLastOpened": self._date(act.last_opened),
            "firstOpenIp": act.first_open_ip,
            "unsubscribed": act.unsubscribed,
            "softBounced": act.soft_bounced,
            "hardBounced": act.hard_bounced,
        }

    def _e_book_campaigns(self, call: _Call) -> Response:
        book = self._book_for(call)
        rows = [c for c in self._state.campaigns.values() if book.id in c.books]
        return self._json([self._campaign_json(c) for c in self._page(rows, call, lambda c: c.id)])

    def _e_campaigns_with_activity(self, call: _Call) -> Response:
        since = self._date_param(call)
        rows = [
            c
            for c in self._state.campaigns.values()
            if c.account == call.account
            and c.status == "Sent"
            and any(a.last_activity_at > since for a in self._activities(c))
        ]
        return self._json([self._campaign_json(c) for c in self._page(rows, call, lambda c: c.id)])

    def _e_get_campaign(self, call: _Call) -> Response:
        return self._json(self._campaign_json(self._campaign_for(call)))

    def _activities_page(
        self,
        call: _Call,
        campaign: Campaign,
        since: datetime | None,
        rows: Callable[[], list[Activity]],
    ) -> Response:
        version = self._state.version("campaign", campaign.id)
        page = self._page_cached(
            call, ("activities", campaign.id, since), version, rows, lambda a: a.contact
        )
        return self._json([self._activity_json(campaign, a) for a in page])

    def _e_activities(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        return self._activities_page(call, campaign, None, lambda: self._activities(campaign))

    def _e_activities_since(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        since = self._date_param(call)

        def rows() -> list[Activity]:
            return [a for a in self._activities(campaign) if a.last_activity_at > since]

        return self._activities_page(call, campaign, since, rows)

    def _e_summary(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        if campaign.status != "Sent":
            status, message = self._settings["summary_unsent_error"]
            raise _ApiError(int(status), str(message))
        summary = self._computed_summary(campaign)
        for key, value in campaign.summary.items():
            summary[key] = self._date(_as_datetime(value)) if key == "dateSent" else value
        return self._json(summary)

    def _computed_summary(self, campaign: Campaign) -> dict[str, Any]:
        acts = self._activities(campaign)
        sent = len(acts)
        hard = sum(a.hard_bounced for a in acts)
        soft = sum(a.soft_bounced for a in acts)
        delivered = sent - hard - soft
        unique = sum(1 for a in acts if a.opens > 0)
        clickers = sum(1 for a in acts if a.clicks > 0)
        totals = {
            "Opens": sum(a.opens for a in acts),
            "Clicks": sum(a.clicks for a in acts),
            "EstimatedForwards": sum(a.estimated_forwards for a in acts),
            "Replies": sum(a.replies for a in acts),
            "HardBounces": hard,
            "SoftBounces": soft,
            "Unsubscribes": sum(a.unsubscribed for a in acts),
            "IspComplaints": 0,
            "MailBlocks": 0,
            "Sent": sent,
            "Delivered": delivered,
        }
        views = sum(a.page_views for a in acts)
        forwards = sum(a.forwards for a in acts)
        summary: dict[str, Any] = {
            "dateSent": self._date(campaign.date_sent),
            "numUniqueOpens": unique,
            "numUniqueTextOpens": 0,
            "numTotalUniqueOpens": unique,
        }
        for base in SUMMARY_TRIPLES:
            summary.update(
                {f"num{base}": totals[base], f"numText{base}": 0, f"numTotal{base}": totals[base]}
            )
        summary.update(
            numPageViews=views,
            numTotalPageViews=views,
            numTextPageViews=0,
            numForwards=forwards,
            numTextForwards=0,
            numRecipientsClicked=clickers,
        )
        summary.update(self._percentages(totals, unique, clickers))
        summary.update(
            revenue="$0.00",
            conversionRate=0.0,
            assistedRevenue="$0.00",
            numOrders=0,
            numAssistedOrders=0,
        )
        return summary

    @staticmethod
    def _percentages(totals: dict[str, int], unique: int, clickers: int) -> dict[str, float]:
        def pct(part: int, whole: int) -> float:
            return round(100.0 * part / whole, 2) if whole else 0.0

        sent, delivered = totals["Sent"], totals["Delivered"]
        return {
            "percentageDelivered": pct(delivered, sent),
            "percentageUniqueOpens": pct(unique, delivered),
            "percentageOpens": pct(totals["Opens"], delivered),
            "percentageUnsubscribes": pct(totals["Unsubscribes"], delivered),
            "percentageReplies": pct(totals["Replies"], delivered),
            "percentageHardBounces": pct(totals["HardBounces"], sent),
            "percentageSoftBounces": pct(totals["SoftBounces"], sent),
            "percentageUsersClicked": pct(clickers, delivered),
            "percentageClicksToOpens": pct(clickers, unique),
        }

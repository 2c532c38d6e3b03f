"""One tour's guest card and appointment brought to the tour's row in ResMan (see sync.resman_sync for the
whole sync): find the card by the card rules, post the card and the appointment once, update the appointment in
place, post Cancel and Show, reactivate a lost card; every event carries the tour's marker, so a post that may
have landed is found instead of sent again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from tour_booking.db import sync_claims_repository
from tour_booking.domain import guest_card_rules
from tour_booking.domain.enums import TourStatus
from tour_booking.domain.guest_card import (
    CANCEL_EVENT,
    SHOW_EVENT,
    CardEvent,
    CardPost,
    EventPost,
    GuestCard,
    is_lost,
    tour_marker,
)
from tour_booking.sync.resman_port import ResManPort, ResManRefusedError, ResManUnavailableError

logger = Logger(child=True)


class SyncTransientError(Exception):
    """The message must be retried (SQS redelivers it)."""


class TourSync:
    """One sync of one tour's loaded row against ResMan; counts its posts and notes the card-matching rule."""

    def __init__(
        self,
        client: ResManPort,
        row: Mapping[str, Any],
        event_type: str,
        source_id: str | None,
        reactivate_type: str = "ReActivate",
    ) -> None:
        self.client = client
        self.row = row
        self.account = str(row["resman_account_id"])
        self.property = str(row["resman_property_id"])
        self.tag = tour_marker(row["id"])
        self.appointment_type = event_type
        self.reactivate_type = reactivate_type
        self.source_id = source_id
        self.posts = 0
        self.match_rule: guest_card_rules.MatchRule | None = None
        info: Mapping[str, Any] = row["prospect_info"] or {}
        self.email: str | None = info.get("email")
        self.phone: str | None = info.get("phone")
        self.first_name = str(info.get("first_name") or "")
        self.last_name = str(info.get("last_name") or "")
        self.booking = guest_card_rules.Booking(self.first_name, self.last_name, self.email, self.phone)
        self.preferences = guest_card_rules.card_preferences(row.get("preferences"))

    def identity_keys(self) -> list[str]:
        """Claim keys of the prospect's identity in this ResMan property: the email, and the phone with the last name
        (the phone rule of guest_card_rules). Two tours of one new prospect synced at once would otherwise both find no
        card and both create one."""
        scope = f"resman_prospect:{self.account}:{self.property}"
        keys = []
        if self.email:
            keys.append(f"{scope}:email:{guest_card_rules.email_key(self.email)}")
        phone = guest_card_rules.phone_key(self.phone)
        if phone:
            keys.append(f"{scope}:phone:{phone}:{guest_card_rules.name_key(self.last_name)}")
        return [sync_claims_repository.identity_key(key) for key in keys]

    # ---- finding --------------------------------------------------------------------------------------------
    def match(self) -> tuple[GuestCard | None, guest_card_rules.MatchRule]:
        """The tour's guest card by the card rules (guest_card_rules), and the rule that found it."""
        stored = self.row["resman_prospect_id"]
        if stored:
            found = self.client.get_card(self.account, self.property, str(stored))
            if found is not None:
                return found, "stored_id"
        if self.email:
            cards = guest_card_rules.with_email(
                self.client.cards_with_email(self.account, self.property, self.email), self.booking
            )
            if cards:
                return guest_card_rules.choose(cards, self.tag), "email"
        if guest_card_rules.phone_key(self.phone) and self.phone:
            cards = guest_card_rules.with_phone_and_last_name(
                self.client.cards_with_phone(self.account, self.property, self.phone), self.booking
            )
            if cards:
                return guest_card_rules.choose(cards, self.tag), "phone_last_name"
        return None, "new"

    def locate(self) -> GuestCard | None:
        card, rule = self.match()
        if self.match_rule is None:  # the first look decides; a search again after a failure is no new match
            self.match_rule = rule
        return card

    def ours(self, prospect: GuestCard, event_type: str) -> CardEvent | None:
        """Our event of this type on the card: the stored appointment id, else the marker in its Comments."""
        stored = self.row["resman_appointment_id"]
        if event_type == self.appointment_type and stored:
            found = prospect.event(str(stored))
            if found is not None:
                return found
        wanted = event_type.lower()
        return next(
            (e for e in prospect.events if e.event_type.lower() == wanted and self.tag in (e.comments or "")), None
        )

    # ---- posting --------------------------------------------------------------------------------------------
    def customer(
        self, prospect: GuestCard | None, *, reactivate: bool = False, with_preferences: bool = False
    ) -> CardPost:
        """The card as we post it: an existing card's own names, email and phone (only empty ones filled), its
        own type (a `lost` card stays lost unless this post reactivates it for a new tour)."""
        details = guest_card_rules.card_details(prospect, self.booking)
        kept_type = prospect.customer_type if prospect is not None and prospect.customer_type else "prospect"
        return CardPost(
            first_name=details.first_name,
            last_name=details.last_name,
            email=details.email,
            phone=details.phone,
            customer_type="prospect" if reactivate else kept_type,
            prospect_id=prospect.prospect_id if prospect else None,
            person_id=prospect.person_id if prospect else None,
            preferences=self.preferences if with_preferences else None,
        )

    def appointment_comments(self, prospect: GuestCard | None) -> str:
        parts = [self.tag, f"type: {self.row['tour_type']}"]
        if self.row["staff_notes"]:
            parts.append(f"notes: {self.row['staff_notes']}")
        differing = guest_card_rules.differences(prospect, self.booking)
        if differing:
            parts.append("the chat gave other details than this card: " + ", ".join(differing))
        return "; ".join(parts)

    def post_new(
        self, prospect: GuestCard | None, events: Sequence[EventPost], *, reactivate: bool = False
    ) -> GuestCard:
        """Posts events that ResMan will append (and a card when `prospect` is None); the last one is the event
        to find afterwards. If the post fails where ResMan may have acted on it, the card is searched again: the
        marker tells whether it landed."""
        self.posts += 1
        wanted = events[-1].event_type
        customer = self.customer(prospect, reactivate=reactivate, with_preferences=wanted == self.appointment_type)
        try:
            return self.client.post(self.account, self.property, customer, events)
        except ResManUnavailableError:
            again = (
                self.locate()
                if prospect is None
                else self.client.get_card(self.account, self.property, prospect.prospect_id)
            )
            if again is not None and self.ours(again, wanted) is not None:
                logger.info("ResMan had taken the post before failing", extra={"tour_id": str(self.row["id"])})
                return again
            raise

    def preferences_stale(self, prospect: GuestCard) -> bool:
        """Whether the card lacks a preference the tour holds (or holds another value for it)."""
        return self.preferences is not None and not guest_card_rules.preferences_held(
            prospect.preferences, self.preferences
        )

    def ensure_appointment(self) -> tuple[GuestCard, CardEvent]:
        when = self.row["scheduled_datetime"].astimezone(UTC)
        prospect = self.locate()
        comments = self.appointment_comments(prospect)
        existing = self.ours(prospect, self.appointment_type) if prospect else None
        if existing is None:
            events = []
            # A returning prospect whose card staff marked lost: a new tour makes the card active again, the
            # ReActivate logged before the appointment (so the old lost mark never cancels this tour).
            reactivate = prospect is not None and is_lost(prospect)
            if reactivate:
                events.append(
                    EventPost(
                        self.reactivate_type,
                        datetime.now(UTC),
                        comments=f"{self.tag}; returning prospect booked a tour",
                        transaction_source=self.source_id,
                    )
                )
            events.append(
                EventPost(
                    self.appointment_type,
                    when,
                    comments=comments,
                    transaction_source=self.source_id,
                    first_contact=prospect is None,
                )
            )
            prospect = self.post_new(prospect, events, reactivate=reactivate)
            existing = self.ours(prospect, self.appointment_type)
            if existing is None:
                raise SyncTransientError("ResMan's answer lacks the appointment just posted")
            if reactivate and is_lost(prospect):
                # The refresh would read the lost card as this tour's cancel: say so instead of losing the tour
                # (worded as the client words ResMan's refusals, which is what it is).
                raise ResManRefusedError(
                    f"ResManPermanentError: ResMan kept the guest card lost after a {self.reactivate_type} event "
                    "(check RESMAN_REACTIVATE_EVENT_TYPE)"
                )
            return prospect, existing
        if prospect is None:  # unreachable: an existing appointment sits on a card; keeps mypy and bandit exact
            raise SyncTransientError("appointment without its card")
        moved = existing.event_date != when or (existing.comments or "") != comments
        if moved or self.preferences_stale(prospect):
            self.posts += 1
            events = (
                [
                    EventPost(
                        self.appointment_type,
                        when,
                        event_id=existing.event_id,
                        comments=comments,
                        transaction_source=self.source_id,
                    )
                ]
                if moved
                else []
            )
            prospect = self.client.post(
                self.account, self.property, self.customer(prospect, with_preferences=True), events
            )
            existing = self.ours(prospect, self.appointment_type) or existing
        return prospect, existing

    def ensure_event(self, prospect: GuestCard, event_type: str, text: str, after: datetime | None = None) -> GuestCard:
        """Our `event_type` event on the card, posted once. With `after`, one that staff already logged at or
        after that time counts too (a Show staff recorded needs no second Show from us)."""
        if self.ours(prospect, event_type) is not None:
            return prospect
        if after is not None and any(
            e.event_type.lower() == event_type.lower() and e.event_date is not None and e.event_date >= after
            for e in prospect.events
        ):
            return prospect
        # Dated no earlier than `after`: a Show is read as the tour's outcome only when it follows the appointment.
        when = max(datetime.now(UTC), after) if after is not None else datetime.now(UTC)
        return self.post_new(prospect, [EventPost(event_type, when, comments=f"{self.tag}; {text}")])

    def run(self) -> tuple[str | None, str | None]:
        """Brings ResMan to the row; returns the (prospect id, appointment id) to store."""
        status = TourStatus(self.row["status"])
        if status is TourStatus.CANCELLED:
            prospect = self.locate()
            appointment = self.ours(prospect, self.appointment_type) if prospect else None
            if prospect is None or appointment is None:
                # Cancelled before its appointment reached ResMan: nothing to undo, no card to create.
                return None, None
            self.ensure_event(prospect, CANCEL_EVENT, "tour cancelled")
            return prospect.prospect_id, appointment.event_id
        prospect, appointment = self.ensure_appointment()
        if status is TourStatus.COMPLETED:
            self.ensure_event(prospect, SHOW_EVENT, "tour completed", after=appointment.event_date)
        return prospect.prospect_id, appointment.event_id

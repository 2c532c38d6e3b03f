"""Which guest card (domain.guest_card) a tour belongs to, and what a post to an existing card says: pure rules,
no I/O.

The leasing team owns the cards (README "ResMan sync", guest cards). A tour's card is, in order:

1. `stored_id`: the ProspectID stored on the tour (the card it was synced to before);
2. `email`: a card with the booking's email (case-insensitive);
3. `phone_last_name`: only when no card has that email, a card with the same phone (last 10 digits) AND the same
   last name (case- and accent-insensitive) AND no email at all (a card with another email is another person's:
   a parent's phone shared by two children gives two cards);
4. `new`: otherwise a new card.

Several cards matching one rule (ResMan holds duplicates; integrations posting without ids make them) is the
ambiguous case. The winner, the same for every sync so a prospect's tours gather on one card: a card that already
carries this tour's marker (our earlier post landed there); else a card that is not `lost` (the one staff work
now) over a lost one; else the oldest card (lowest ProspectID).

A post to an existing card carries the card's own names, email and phone as ResMan holds them, filling only the
empty ones; the chat's details that differ are written into the appointment's Comments for staff to see. The
tour's preferences go to the card's CustomerPreferences, posted again only while the card lacks one of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tour_booking.domain.guest_card import CardPreferences, GuestCard, is_lost

MatchRule = Literal["stored_id", "email", "phone_last_name", "new"]


@dataclass(frozen=True)
class Booking:
    """The prospect's details as the chat gave them (the tour's prospect_info)."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None


def phone_key(phone: str | None) -> str:
    """The last 10 digits: `+1 (312) 555-0101` and `312.555.0101` are one phone."""
    return re.sub(r"\D", "", phone or "")[-10:]


def name_key(name: str | None) -> str:
    """Case- and accent-insensitive: `Nguyễn` and `NGUYEN` are one last name."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


def with_email(cards: Iterable[GuestCard], booking: Booking) -> list[GuestCard]:
    wanted = email_key(booking.email)
    return [c for c in cards if wanted and email_key(c.email) == wanted]


def with_phone_and_last_name(cards: Iterable[GuestCard], booking: Booking) -> list[GuestCard]:
    phone, last = phone_key(booking.phone), name_key(booking.last_name)
    return [
        c
        for c in cards
        if phone and phone_key(c.phone) == phone and last and name_key(c.last_name) == last and not email_key(c.email)
    ]


def _oldest_first(card: GuestCard) -> tuple[int, int, str]:
    pid = card.prospect_id
    return (0, int(pid), "") if pid.isdigit() else (1, 0, pid)


def choose(cards: Sequence[GuestCard], marker: str) -> GuestCard | None:
    """The winner among cards matching one rule (see the module doc); None when there is none."""
    if not cards:
        return None
    return min(
        cards,
        key=lambda c: (
            not any(marker in (e.comments or "") for e in c.events),
            is_lost(c),
            _oldest_first(c),
        ),
    )


@dataclass(frozen=True)
class CardDetails:
    """What a post to the card says of the person: the card's own values, the empty ones filled from the chat."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None


def card_details(card: GuestCard | None, booking: Booking) -> CardDetails:
    if card is None:
        return CardDetails(booking.first_name, booking.last_name, booking.email, booking.phone)
    return CardDetails(
        first_name=card.first_name or booking.first_name,
        last_name=card.last_name or booking.last_name,
        email=card.email or booking.email,
        phone=card.phone or booking.phone,
    )


def differences(card: GuestCard | None, booking: Booking) -> list[str]:
    """The chat's details that differ from what the card holds (`last name: Smith`), for the appointment's
    Comments: staff decide. Empty on a new card, and for details that only differ in case, accents or spacing."""
    if card is None:
        return []
    found = []
    for label, held, given, key in (
        ("first name", card.first_name, booking.first_name, name_key),
        ("last name", card.last_name, booking.last_name, name_key),
        ("email", card.email, booking.email, email_key),
        ("phone", card.phone, booking.phone, phone_key),
    ):
        if held and given and key(held) != key(given):
            found.append(f"{label}: {given}")
    return found


def card_preferences(stored: Mapping[str, Any] | None) -> CardPreferences | None:
    """The tour's preferences (its `preferences` JSON) as text, the way a card holds them; None when it has none."""
    if not stored:
        return None
    rent = stored.get("max_rent")
    bedrooms = stored.get("bedrooms")
    wishes = CardPreferences(
        target_move_in_date=stored.get("move_in_date") or None,
        desired_num_bedrooms=None if bedrooms is None else str(int(bedrooms)),
        desired_rent=None if rent is None else _money(rent),
        comment=stored.get("comment") or None,
    )
    return None if wishes.is_empty() else wishes


def _money(value: Any) -> str:
    amount = Decimal(str(value))
    return str(amount.quantize(Decimal(1))) if amount == amount.to_integral_value() else f"{amount:.2f}"


def _same_number(held: str | None, wanted: str) -> bool:
    try:
        return held is not None and Decimal(held) == Decimal(wanted)
    except ArithmeticError:
        return False


def preferences_held(card: CardPreferences, wanted: CardPreferences) -> bool:
    """Whether the card already holds every preference `wanted` gives (numbers compared as numbers)."""
    move_in, bedrooms, rent, comment = (
        wanted.target_move_in_date,
        wanted.desired_num_bedrooms,
        wanted.desired_rent,
        wanted.comment,
    )
    return (
        (move_in is None or (card.target_move_in_date or "")[:10] == move_in)
        and (bedrooms is None or _same_number(card.desired_num_bedrooms, bedrooms))
        and (rent is None or _same_number(card.desired_rent, rent))
        and (comment is None or (card.comment or "") == comment.strip())
    )

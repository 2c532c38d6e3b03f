"""The guest-card rules (tour_booking.domain.guest_card_rules): which card is a tour's, and what a post to it says."""

from __future__ import annotations

from tour_booking.domain.guest_card import CardEvent, CardPreferences, GuestCard
from tour_booking.domain.guest_card_rules import (
    Booking,
    card_details,
    card_preferences,
    choose,
    differences,
    preferences_held,
    with_email,
    with_phone_and_last_name,
)

MARKER = "DomIQ tour 3f0c9a8e-0000-4000-8000-000000000001"
KIM = Booking("Kim", "Nguyen", "kim@example.com", "+1 (312) 555-0177")


def card(pid: str, **fields: object) -> GuestCard:
    return GuestCard(prospect_id=pid, **fields)  # type: ignore[arg-type]


def test_email_matches_ignore_case_and_nothing_else() -> None:
    cards = [card("1", email="KIM@example.com", last_name="Other"), card("2", email="kim@example.org")]
    assert [c.prospect_id for c in with_email(cards, KIM)] == ["1"]


def test_the_phone_rule_needs_the_last_name_and_no_email_on_the_card() -> None:
    cards = [
        card("1", phone="312.555.0177", last_name="NGUYỄN"),  # same phone, same name without accents: yes
        card("2", phone="3125550177", last_name="Okafor"),  # another person on the shared phone
        card("3", phone="3125550177", last_name="Nguyen", email="sam@example.com"),  # a sibling with an email
        card("4", phone="3125550178", last_name="Nguyen"),  # another phone
    ]
    assert [c.prospect_id for c in with_phone_and_last_name(cards, KIM)] == ["1"]
    assert with_phone_and_last_name(cards, Booking("Kim", "Nguyen", None, None)) == []


def test_of_several_cards_ours_wins_then_an_active_one_then_the_oldest() -> None:
    lost_old, active_new, active_newer = card("5", customer_type="lost"), card("10"), card("9")
    assert choose([lost_old, active_new, active_newer], MARKER) is active_newer
    assert choose([lost_old, card("7", customer_type="lost")], MARKER) is lost_old
    ours = card("12", events=(CardEvent("E1", "Appointment", None, f"{MARKER}; type: in_person"),))
    assert choose([lost_old, active_newer, ours], MARKER) is ours
    assert choose([], MARKER) is None


def test_a_post_to_an_existing_card_keeps_its_values_and_reports_the_chats_differences() -> None:
    staff = card("1", first_name="Kim", last_name="Nguyễn-Tran", email="KIM@example.com", phone=None)
    details = card_details(staff, KIM)
    assert (details.first_name, details.last_name, details.email, details.phone) == (
        "Kim",
        "Nguyễn-Tran",
        "KIM@example.com",
        "+1 (312) 555-0177",
    )
    assert differences(staff, KIM) == ["last name: Nguyen"]
    assert differences(None, KIM) == []


def test_a_tours_preferences_become_card_text_and_none_when_empty() -> None:
    wishes = card_preferences({"move_in_date": "2027-02-01", "bedrooms": 2, "max_rent": 1850, "comment": "a view"})
    assert wishes == CardPreferences("2027-02-01", "2", "1850", "a view")
    assert card_preferences({"max_rent": 1850.5}) == CardPreferences(desired_rent="1850.50")
    assert card_preferences({}) is None
    assert card_preferences({"comment": ""}) is None


def test_a_card_holds_the_preferences_when_its_numbers_and_dates_mean_the_same() -> None:
    wanted = CardPreferences("2027-02-01", "2", "1850", None)
    assert preferences_held(CardPreferences("2027-02-01T00:00:00", "2.0", "1850.00", "staff's note"), wanted)
    assert not preferences_held(CardPreferences("2027-02-01", "3", "1850"), wanted)
    assert not preferences_held(CardPreferences(), wanted)

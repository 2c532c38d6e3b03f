"""MITS Lead Management 4.0 XML, as ResMan reads and answers it, with xml.etree only: the
domain's guest cards (tour_booking.domain.guest_card) built into posts and parsed from answers.

Building: one `LeadManagement/Prospects/Prospect` with a `Customers/Customer`, the ResMan ids when known (so
ResMan updates the guest card instead of creating a new one), the `CustomerPreferences` to set (only the
elements given: the others stay as the card holds them) and the events to append or update. Event dates
are sent in UTC with an explicit `Z`: ResMan interprets appointment times as UTC.

Parsing is defensive: an answer that is not XML, or not the shape expected, raises MitsParseError (the client
treats it as transient); a missing optional element is simply None.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # nosec B405 - only parse_document parses, and it refuses DTDs
from collections.abc import Sequence
from datetime import UTC, datetime

from tour_booking.domain.guest_card import CardEvent, CardPost, CardPreferences, EventPost, GuestCard

ORGANIZATION = "ResMan"


class MitsParseError(ValueError):
    """The answer is not the XML expected."""


def utc_text(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`: property-local (aware) times converted to UTC with an explicit offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous: give the property's zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """ResMan's dates; one without an offset is UTC (ResMan keeps appointment times in UTC)."""
    if not text or not text.strip():
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def build_lead(customer: CardPost, events: Sequence[EventPost]) -> str:
    root = ET.Element("LeadManagement")
    prospect = ET.SubElement(ET.SubElement(root, "Prospects"), "Prospect")
    person = ET.SubElement(ET.SubElement(prospect, "Customers"), "Customer", Type=customer.customer_type)
    for id_type, value in (("ProspectID", customer.prospect_id), ("PersonID", customer.person_id)):
        if value:
            ET.SubElement(person, "Identification", IDType=id_type, IDValue=value, OrganizationName=ORGANIZATION)
    name = ET.SubElement(person, "Name")
    ET.SubElement(name, "FirstName").text = customer.first_name
    ET.SubElement(name, "LastName").text = customer.last_name
    if customer.phone:
        ET.SubElement(ET.SubElement(person, "Phone", Type="cell"), "PhoneNumber").text = customer.phone
    if customer.email:
        ET.SubElement(person, "Email").text = customer.email
    if customer.preferences is not None and not customer.preferences.is_empty():
        _add_preferences(prospect, customer.preferences)
    if events:
        container = ET.SubElement(prospect, "Events")
        for event in events:
            node = ET.SubElement(container, "Event", EventType=event.event_type, EventDate=utc_text(event.event_date))
            if event.event_id:
                ET.SubElement(node, "EventID", IDValue=event.event_id)
            ET.SubElement(node, "FirstContact").text = "true" if event.first_contact else "false"
            if event.transaction_source:
                ET.SubElement(node, "TransactionSource").text = event.transaction_source
            if event.comments:
                ET.SubElement(node, "Comments").text = event.comments
    return ET.tostring(root, encoding="unicode")


def _add_preferences(prospect: ET.Element, wishes: CardPreferences) -> None:
    """`CustomerPreferences` with only the elements given: ResMan keeps the card's others."""
    node = ET.SubElement(prospect, "CustomerPreferences")
    for tag, value in (
        ("TargetMoveInDate", wishes.target_move_in_date),
        ("DesiredRent", wishes.desired_rent),
        ("DesiredNumBedrooms", wishes.desired_num_bedrooms),
        ("Comment", wishes.comment),
    ):
        if value:
            ET.SubElement(node, tag).text = value


def parse_document(text: str) -> ET.Element:
    # MITS documents carry no DTD: refusing one shuts out entity expansion and external entities.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise MitsParseError("XML with a DTD is refused")
    try:
        return ET.fromstring(text)  # noqa: S314  # nosec B314 - DTDs refused above
    except ET.ParseError as error:
        raise MitsParseError(f"malformed XML: {error}") from error


def _text(node: ET.Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _event_id(event: ET.Element) -> str | None:
    node = event.find("EventID")
    if node is None:
        return event.get("EventID")
    return (node.get("IDValue") or (node.text or "")).strip() or None


def parse_prospect(node: ET.Element) -> GuestCard:
    customer = node.find("Customers/Customer")
    ids: dict[str, str] = {}
    if customer is not None:
        for ident in customer.findall("Identification"):
            id_type, value = ident.get("IDType"), ident.get("IDValue")
            if id_type and value:
                ids.setdefault(id_type, value)
    prospect_id = ids.get("ProspectID")
    if not prospect_id:
        raise MitsParseError("a prospect without a ProspectID")
    events = tuple(
        CardEvent(
            event_id=_event_id(event),
            event_type=(event.get("EventType") or "").strip(),
            event_date=parse_time(event.get("EventDate")),
            comments=_text(event, "Comments"),
        )
        for event in node.findall("Events/Event")
    )
    customer_type = customer.get("Type") if customer is not None else None
    return GuestCard(
        prospect_id=prospect_id,
        person_id=ids.get("PersonID"),
        customer_type=customer_type.strip().lower() if customer_type else None,
        email=_text(customer, "Email"),
        phone=_text(customer, "Phone/PhoneNumber"),
        first_name=_text(customer, "Name/FirstName"),
        last_name=_text(customer, "Name/LastName"),
        events=events,
        preferences=CardPreferences(
            target_move_in_date=_text(node, "CustomerPreferences/TargetMoveInDate"),
            desired_num_bedrooms=_text(node, "CustomerPreferences/DesiredNumBedrooms"),
            desired_rent=_text(node, "CustomerPreferences/DesiredRent"),
            comment=_text(node, "CustomerPreferences/Comment"),
        ),
    )


def parse_prospects(root: ET.Element) -> list[GuestCard]:
    """Every `Prospect` under the answer's LeadManagement (`ResMan/Response/LeadManagement/Prospects`)."""
    lead = root if root.tag == "LeadManagement" else root.find(".//LeadManagement")
    if lead is None:
        return []
    return [parse_prospect(node) for node in lead.findall("Prospects/Prospect")]

"""MITS Lead Management XML: building posts, parsing answers defensively, UTC with an explicit offset."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tour_booking.domain.guest_card import CardPost, EventPost
from tour_booking.resman import mits

ANSWER = """<?xml version="1.0"?>
<ResMan><MethodName>SearchProspects</MethodName><Status>Success</Status><ErrorDescription/>
<Response><LeadManagement><Prospects>
 <Prospect>
  <Customers><Customer Type="Lost">
   <Identification IDType="ProspectID" IDValue="501" OrganizationName="ResMan"/>
   <Identification IDType="PersonID" IDValue="777" OrganizationName="ResMan"/>
   <Name><FirstName>Ada</FirstName><LastName>Lovelace</LastName></Name>
   <Phone Type="cell"><PhoneNumber>3125550101</PhoneNumber></Phone><Email>ada@example.com</Email>
  </Customer></Customers>
  <Events>
   <Event EventType="Appointment" EventDate="2027-03-14T15:30:00"><EventID IDValue="9001"/>
    <Comments>DomIQ tour x</Comments></Event>
   <Event EventType="Show" EventDate="2027-03-14T15:45:00Z"><EventID>9002</EventID></Event>
   <Event EventType="Other" EventDate="not a date"/>
  </Events>
 </Prospect>
</Prospects></LeadManagement></Response></ResMan>"""


def test_local_times_are_sent_in_utc_with_an_explicit_z() -> None:
    # given a slot at 10:30 in Chicago on the spring-forward day (CDT, UTC-5)
    local = datetime(2027, 3, 14, 10, 30, tzinfo=ZoneInfo("America/Chicago"))
    # then it is sent as 15:30Z; a naive time is refused as ambiguous
    assert mits.utc_text(local) == "2027-03-14T15:30:00Z"
    with pytest.raises(ValueError, match="naive"):
        mits.utc_text(datetime(2027, 3, 14, 10, 30))


def test_a_post_carries_the_ids_and_events() -> None:
    customer = CardPost("Ada", "Lovelace", email="ada@example.com", phone="312", prospect_id="501", person_id="777")
    event = EventPost(
        "Appointment", datetime(2027, 1, 1, 9, tzinfo=UTC), event_id="9001", comments="c", transaction_source="7001"
    )
    root = ET.fromstring(mits.build_lead(customer, [event]))
    customer_node = root.find("Prospects/Prospect/Customers/Customer")
    assert customer_node is not None
    assert customer_node.get("Type") == "prospect"
    assert {(i.get("IDType"), i.get("IDValue")) for i in customer_node.findall("Identification")} == {
        ("ProspectID", "501"),
        ("PersonID", "777"),
    }
    event_node = root.find("Prospects/Prospect/Events/Event")
    assert event_node is not None
    assert (event_node.get("EventType"), event_node.get("EventDate")) == ("Appointment", "2027-01-01T09:00:00Z")
    assert event_node.findtext("TransactionSource") == "7001"
    assert event_node.find("EventID") is not None


def test_a_new_card_is_posted_without_ids() -> None:
    root = ET.fromstring(mits.build_lead(CardPost("A", "B", email="a@example.com"), []))
    assert root.findall(".//Identification") == []


def test_an_answer_is_parsed_into_prospects() -> None:
    [prospect] = mits.parse_prospects(mits.parse_document(ANSWER))
    assert (prospect.prospect_id, prospect.person_id, prospect.customer_type) == ("501", "777", "lost")
    assert (prospect.email, prospect.phone, prospect.first_name) == ("ada@example.com", "3125550101", "Ada")
    appointment, show, other = prospect.events
    # a date without an offset is UTC, as ResMan keeps it
    assert appointment.event_date == datetime(2027, 3, 14, 15, 30, tzinfo=UTC)
    assert (appointment.event_id, appointment.comments) == ("9001", "DomIQ tour x")
    assert (show.event_id, show.event_date) == ("9002", datetime(2027, 3, 14, 15, 45, tzinfo=UTC))
    assert other.event_date is None


@pytest.mark.parametrize("text", ["<ResMan><Status>", "not xml at all", ""])
def test_malformed_xml_is_an_explicit_error(text: str) -> None:
    with pytest.raises(mits.MitsParseError):
        mits.parse_document(text)


def test_a_prospect_without_its_id_is_an_explicit_error() -> None:
    root = mits.parse_document(
        "<LeadManagement><Prospects><Prospect><Customers><Customer/></Customers>"
        "</Prospect></Prospects></LeadManagement>"
    )
    with pytest.raises(mits.MitsParseError):
        mits.parse_prospects(root)


def test_an_answer_without_lead_management_has_no_prospects() -> None:
    assert mits.parse_prospects(mits.parse_document("<ResMan><Status>Success</Status></ResMan>")) == []


def test_a_document_with_a_dtd_is_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><ResMan>&a;</ResMan>'
    with pytest.raises(mits.MitsParseError, match="DTD"):
        mits.parse_document(bomb)

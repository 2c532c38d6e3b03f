"""The double's in-memory ResMan: accounts, properties, guest cards with their events, the clock, the faults
and the request log. Thread-safe (one lock); the HTTP layer (server.py) and tests share it."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FAULT_KINDS = frozenset(
    {
        "latency",  # answer normally after `seconds`
        "hang",  # say nothing for `seconds` (past the client's timeout), then drop the connection
        "status_error",  # HTTP 200, Status Error
        "status_failed",  # HTTP 200, Status Failed
        "http_500",
        "http_502",  # Cloudflare-style HTML pages
        "http_503",
        "http_504",
        "buffer_overflow",  # HTTP 502 with `buffer overflow` in the body
        "malformed_xml",  # HTTP 200 whose body is cut XML
        "bad_credentials",  # HTTP 200, Status Failed, credentials refused
        "http_429",  # with Retry-After: `retry_after`
    }
)


@dataclass
class Fault:
    """A failure injected into calls of `method` ("*" for every ResMan method).

    `times`: how many calls fail (None: every call); `probability`: the chance a call fails;
    `after_commit`: the call is processed first and then fails (ResMan did act: the ambiguous case)."""

    kind: str
    method: str = "*"
    times: int | None = None
    probability: float = 1.0
    seconds: float = 0.0
    retry_after: float = 1.0
    after_commit: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")


@dataclass
class Event:
    event_id: str
    event_type: str
    event_date: datetime
    comments: str | None = None
    transaction_source: str | None = None
    agent_id: str | None = None


@dataclass
class Prospect:
    prospect_id: str
    person_id: str
    account_id: str
    property_id: str
    customer_type: str = "prospect"
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    events: list[Event] = field(default_factory=list)
    # MITS CustomerPreferences by element name (TargetMoveInDate, DesiredRent, DesiredNumBedrooms, Comment).
    preferences: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        return {
            "prospect_id": self.prospect_id,
            "person_id": self.person_id,
            "account_id": self.account_id,
            "property_id": self.property_id,
            "customer_type": self.customer_type,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "modified_at": self.modified_at.isoformat(),
            "preferences": dict(self.preferences),
            "events": [
                {
                    "event_id": e.event_id,
                    "event_type": e.event_type,
                    "event_date": e.event_date.isoformat(),
                    "comments": e.comments,
                    "transaction_source": e.transaction_source,
                }
                for e in self.events
            ],
        }


@dataclass
class Property:
    account_id: str
    property_id: str
    name: str = "Property"
    timezone: str = "America/Chicago"
    phone: str | None = None
    email: str | None = None
    prospect_sources: dict[str, str] = field(default_factory=dict)
    employees: list[dict[str, Any]] = field(default_factory=list)
    lost_reasons: dict[str, str] = field(default_factory=lambda: {"1": "Rented elsewhere", "2": "No response"})


def digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")[-10:]


class DoubleState:
    def __init__(self, integration_partner_id: str = "partner", api_key: str = "key") -> None:
        self.lock = threading.RLock()
        self.credentials = {(integration_partner_id, api_key)}
        self._defaults = (integration_partner_id, api_key)
        self.max_window_prospects = 200
        self.reset()

    def reset(self, *, keep_properties: bool = False) -> None:
        with self.lock:
            if not keep_properties:
                self.properties: dict[tuple[str, str], Property] = {}
                self.credentials = {self._defaults}
            self.prospects: dict[str, Prospect] = {}
            self.faults: list[Fault] = []
            self.log: list[dict[str, Any]] = []
            self.clock_offset = timedelta()
            self.in_flight = 0
            self.max_in_flight = 0
            self._ids = itertools.count(100001)
            self._random = random.Random(7)  # noqa: S311  # nosec B311 - fault dice, reproducible

    # ---- clock ------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def advance(self, seconds: float) -> datetime:
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)
            return self.now()

    def set_now(self, moment: datetime) -> None:
        with self.lock:
            self.clock_offset = moment - datetime.now(UTC)

    def next_id(self) -> str:
        return str(next(self._ids))

    # ---- seeding ----------------------------------------------------------------------------------------------
    def add_credentials(self, integration_partner_id: str, api_key: str) -> None:
        with self.lock:
            self.credentials.add((integration_partner_id, api_key))

    def add_property(
        self,
        account_id: str,
        property_id: str,
        *,
        name: str = "Property",
        timezone: str = "America/Chicago",
        prospect_sources: dict[str, str] | None = None,
        employees: list[dict[str, Any]] | None = None,
    ) -> Property:
        with self.lock:
            prop = Property(
                str(account_id),
                property_id,
                name=name,
                timezone=timezone,
                prospect_sources=dict(prospect_sources or {}),
                employees=list(
                    employees
                    or [{"ID": "E1", "Name": "Leasing Agent", "Email": "agent@example.com", "SecurityGroup": "Leasing"}]
                ),
            )
            self.properties[(prop.account_id, property_id)] = prop
            return prop

    # ---- faults -----------------------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def draw_fault(self, method: str) -> Fault | None:
        """The fault that hits this call, if any (consumes one of a fault's `times`)."""
        with self.lock:
            for fault in self.faults:
                if fault.method not in ("*", method):
                    continue
                if fault.times is not None and fault.times <= 0:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
            return None

    # ---- prospects --------------------------------------------------------------------------------------------
    def prospect(self, prospect_id: str) -> Prospect | None:
        with self.lock:
            return self.prospects.get(prospect_id)

    def all_prospects(self) -> list[Prospect]:
        with self.lock:
            return list(self.prospects.values())

    def touch(self, prospect: Prospect) -> None:
        prospect.modified_at = self.now()

    def set_outcome(self, prospect_id: str, outcome: str, *, reason_id: str | None = None) -> Prospect:
        """Staff in ResMan: `Show` or `Cancel` appends that event; `lost` turns the customer lost."""
        with self.lock:
            prospect = self.prospects[prospect_id]
            if outcome.lower() == "lost":
                prospect.customer_type = "lost"
            else:
                kind = {"show": "Show", "cancel": "Cancel"}.get(outcome.lower(), outcome)
                prospect.events.append(Event(self.next_id(), kind, self.now(), comments=reason_id))
            self.touch(prospect)
            return prospect

    def add_card(
        self,
        account_id: str,
        property_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        customer_type: str = "prospect",
        preferences: dict[str, str] | None = None,
    ) -> Prospect:
        """A guest card staff made in ResMan (no appointment)."""
        with self.lock:
            prospect = Prospect(
                self.next_id(),
                self.next_id(),
                str(account_id),
                property_id,
                customer_type=customer_type.lower(),
                first_name=first_name,
                last_name=last_name,
                email=email,
                phone=phone,
                preferences=dict(preferences or {}),
                created_at=self.now(),
            )
            self.prospects[prospect.prospect_id] = prospect
            self.touch(prospect)
            return prospect

    CARD_FIELDS = frozenset({"first_name", "last_name", "email", "phone", "customer_type"})

    def edit_card(self, prospect_id: str, changes: dict[str, Any]) -> Prospect:
        """Staff edit a card in ResMan: the given fields (None clears one; `preferences` merges by element)."""
        with self.lock:
            prospect = self.prospects[prospect_id]
            for name, value in changes.items():
                if name == "preferences":
                    for key, text in dict(value or {}).items():
                        if text is None:
                            prospect.preferences.pop(str(key), None)
                        else:
                            prospect.preferences[str(key)] = str(text)
                elif name in self.CARD_FIELDS:
                    setattr(prospect, name, None if value is None else str(value))
                else:
                    raise KeyError(name)
            if prospect.customer_type:
                prospect.customer_type = prospect.customer_type.lower()
            self.touch(prospect)
            return prospect

    def add_staff_appointment(
        self,
        account_id: str,
        property_id: str,
        when: datetime,
        *,
        first_name: str = "Walk",
        last_name: str = "In",
        email: str | None = None,
        phone: str | None = None,
        prospect_id: str | None = None,
    ) -> tuple[Prospect, Event]:
        """An appointment booked by staff inside ResMan (on a new guest card unless `prospect_id`)."""
        with self.lock:
            if prospect_id is None:
                prospect = Prospect(
                    self.next_id(),
                    self.next_id(),
                    str(account_id),
                    property_id,
                    first_name=first_name,
                    last_name=last_name,
                    email=email,
                    phone=phone,
                    created_at=self.now(),
                )
                self.prospects[prospect.prospect_id] = prospect
            else:
                prospect = self.prospects[prospect_id]
            event = Event(self.next_id(), "Appointment", when.astimezone(UTC))
            prospect.events.append(event)
            self.touch(prospect)
            return prospect, event

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.log.append(entry)

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.log if method is None or e.get("method") == method]

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        if seconds > 0:
            stop.wait(seconds) if stop is not None else time.sleep(seconds)

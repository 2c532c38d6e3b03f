"""A ResMan test double: ResMan's legacy API on loopback, its state in memory, every failure on demand.

Start it in-process (tests, the local stack)::

    from tools.resman_double import start_double
    double = start_double(port=0)            # port 0: any free port
    double.state.add_property("400", "8e2b...-guid", prospect_sources={"7001": "DomIQ"})
    ...  # point RESMAN_BASE_URL at double.url; credentials default to partner / key
    double.stop()

``seed_demo(double)`` adds the local stack's demo credentials and property (tools/demo_data.py).
Or as a process: ``python -m tools.resman_double --port 8765``.

ResMan's surface: form-encoded POSTs to ``/<Area>/<Method>`` with IntegrationPartnerID, ApiKey,
AccountID and PropertyID checked; the envelope (MethodName, Status, ErrorDescription, AccountID, PropertyID,
payload) as JSON or XML by ``Accept`` (XML root ``<ResMan>``, MITS payloads under ``Response``); failures are
HTTP 200 with Status ``Failed``/``Error``. Methods: ``MITS/PostLeadManagement4_0`` (form field ``Xml``; a post
without ProspectID/PersonID creates a NEW guest card every time, as ResMan does; with ids it updates the card,
appends events without an EventID and updates the event named by ``<EventID IDValue=.../>``; the card's names,
email and phone take the posted non-empty values; ``CustomerPreferences`` elements posted are kept (the others
stay) and returned; a ``lost`` card stays lost whatever ``Type`` a post names until a ``ReActivate`` event in a
post makes it a prospect again; a document XML 1.0 cannot parse, such as one holding a control character, is
refused with Status Error ``Invalid Xml: ...not well-formed...``),
``MITS/SearchProspects`` (Email, Phone, ProspectID, FirstName+LastName, or ModifiedStartDateTime /
ModifiedEndDateTime; a window holding more than ``state.max_window_prospects`` answers the ``buffer overflow``
502), ``Account/GetProperties``, ``Leasing/GetEmployees``, ``Leasing/GetProspectSources``,
``Leasing/GetLostProspectReasons``.

Test-only controls, under ``/__double__/`` (JSON bodies), or the same on ``double.state`` in Python:

- ``POST properties`` ``{account_id, property_id, name?, timezone?, prospect_source_id?, integration_partner_id?,
  api_key?}``: seed a property (and credentials).
- ``POST faults`` ``{kind, method?="*", times?, probability?, seconds?, retry_after?, after_commit?}``;
  ``DELETE faults``. Kinds: latency, hang, status_error, status_failed, http_500, http_502, http_503, http_504,
  buffer_overflow, malformed_xml, bad_credentials, http_429 (see state.FAULT_KINDS). ``times`` = fail the next
  N calls; ``probability`` = fail each call with that chance; ``after_commit`` = act first, then fail.
- ``POST outcome`` ``{prospect_id, outcome: Show|Cancel|lost}``: staff record an outcome (modified time bumps).
- ``POST appointments`` ``{account_id, property_id, date, first_name?, ..., prospect_id?}``: a staff-booked one.
- ``POST cards`` ``{account_id, property_id, first_name?, last_name?, email?, phone?, customer_type?,
  preferences?}``: a guest card staff made (no appointment); ``POST cards/edit`` ``{prospect_id, first_name?,
  last_name?, email?, phone?, customer_type?, preferences?}``: staff edit a card (null clears a field; the
  modified time bumps, so the refresh reads it).
- ``POST clock`` ``{advance_seconds}`` or ``{now}``; ``GET clock``.
- ``POST reset`` ``{keep_properties?}``; ``GET log`` (requests, ApiKey left out); ``GET prospects``;
  ``POST config`` ``{max_window_prospects}``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tools.resman_double.server import DoubleServer
from tools.resman_double.state import DoubleState, Fault

DEFAULT_INTEGRATION_PARTNER_ID = "partner"
DEFAULT_API_KEY = "key"


@dataclass
class DoubleHandle:
    server: DoubleServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def state(self) -> DoubleState:
        return self.server.state

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_double(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    integration_partner_id: str = DEFAULT_INTEGRATION_PARTNER_ID,
    api_key: str = DEFAULT_API_KEY,
) -> DoubleHandle:
    """Starts the double on a background thread; `port=0` picks a free port (see `.url`)."""
    server = DoubleServer((host, port), DoubleState(integration_partner_id, api_key))
    thread = threading.Thread(target=server.serve_forever, name="resman-double", daemon=True)
    thread.start()
    return DoubleHandle(server, thread)


def seed_demo(double: DoubleHandle) -> None:
    """The local stack's demo (tools/demo_data.py): its credentials, ResMan property and prospect source."""
    from tools import demo_data  # noqa: PLC0415 - only the local stack needs the demo

    double.state.add_credentials(demo_data.RESMAN_INTEGRATION_PARTNER_ID, demo_data.RESMAN_API_KEY)
    double.state.add_property(
        demo_data.RESMAN_ACCOUNT_ID,
        demo_data.RESMAN_PROPERTY_ID,
        name=demo_data.PROPERTY_NAME,
        timezone=demo_data.SCHEDULE.timezone,
        prospect_sources={demo_data.RESMAN_PROSPECT_SOURCE_ID: "DomIQ"},
    )


__all__ = ["DoubleHandle", "DoubleState", "Fault", "seed_demo", "start_double"]

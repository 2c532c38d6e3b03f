"""The double's HTTP surface: ResMan's legacy API (form POSTs to `/<Area>/<Method>`) and the test-only
controls under `/__double__/`."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET  # nosec B405 - a loopback test double parsing what tests post
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tools.resman_double.state import DoubleState, Event, Fault, Prospect, digits

CONTROL_PREFIX = "/__double__/"
MITS_METHODS = frozenset({"MITS/PostLeadManagement4_0", "MITS/SearchProspects"})
PROPERTY_METHODS = frozenset(
    {"Leasing/GetEmployees", "Leasing/GetProspectSources", "Leasing/GetLostProspectReasons"} | MITS_METHODS
)
KNOWN_METHODS = PROPERTY_METHODS | {"Account/GetProperties"}
PREFERENCE_TAGS = ("TargetMoveInDate", "DesiredRent", "DesiredNumBedrooms", "Comment")
REACTIVATE_EVENT = "reactivate"
LOST = "lost"

_HTML = (
    "<!DOCTYPE html><html><head><title>{code} | api.myresman.com | Cloudflare</title></head>"
    "<body><h1>Error {code}</h1><p>{text}</p></body></html>"
)
_HTML_TEXT = {
    500: "Internal Server Error",
    502: "Bad gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway time-out",
}


class Failure(Exception):
    """An answer of HTTP 200 with Status Failed (or Error) and this ErrorDescription."""

    def __init__(self, description: str, status: str = "Failed") -> None:
        super().__init__(description)
        self.description = description
        self.status = status


class Raw(Exception):
    """An answer that is no envelope at all (5xx pages, buffer overflow)."""

    def __init__(self, code: int, body: str, content_type: str = "text/html", headers: dict[str, str] | None = None):
        super().__init__(code)
        self.code, self.body, self.content_type, self.headers = code, body, content_type, headers or {}


def _fmt(moment: datetime) -> str:
    # ResMan answers UTC times without an offset (it interprets them as UTC).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def prospect_xml(prospect: Prospect) -> ET.Element:
    node = ET.Element("Prospect")
    customer = ET.SubElement(ET.SubElement(node, "Customers"), "Customer", Type=prospect.customer_type)
    for id_type, value in (("ProspectID", prospect.prospect_id), ("PersonID", prospect.person_id)):
        ET.SubElement(customer, "Identification", IDType=id_type, IDValue=value, OrganizationName="ResMan")
    name = ET.SubElement(customer, "Name")
    ET.SubElement(name, "FirstName").text = prospect.first_name or ""
    ET.SubElement(name, "LastName").text = prospect.last_name or ""
    if prospect.phone:
        ET.SubElement(ET.SubElement(customer, "Phone", Type="cell"), "PhoneNumber").text = prospect.phone
    if prospect.email:
        ET.SubElement(customer, "Email").text = prospect.email
    if prospect.preferences:
        wishes = ET.SubElement(node, "CustomerPreferences")
        for tag in PREFERENCE_TAGS:
            if prospect.preferences.get(tag):
                ET.SubElement(wishes, tag).text = prospect.preferences[tag]
    ET.SubElement(node, "LastModifiedDate").text = _fmt(prospect.modified_at)
    events = ET.SubElement(node, "Events")
    for event in prospect.events:
        item = ET.SubElement(events, "Event", EventType=event.event_type, EventDate=_fmt(event.event_date))
        ET.SubElement(item, "EventID", IDValue=event.event_id)
        if event.agent_id:
            ET.SubElement(ET.SubElement(item, "Agent"), "AgentID", IDValue=event.agent_id)
        if event.transaction_source:
            ET.SubElement(item, "TransactionSource").text = event.transaction_source
        if event.comments:
            ET.SubElement(item, "Comments").text = event.comments
    return node


def _lead(prospects: list[Prospect]) -> ET.Element:
    lead = ET.Element("LeadManagement")
    container = ET.SubElement(lead, "Prospects")
    for prospect in prospects:
        container.append(prospect_xml(prospect))
    return lead


class ResManApi:
    """ResMan's methods over DoubleState. Each returns the payload: an XML element (MITS) or a dict."""

    def __init__(self, state: DoubleState) -> None:
        self.state = state

    def check_credentials(self, method: str, form: dict[str, str]) -> None:
        pair = (form.get("IntegrationPartnerID", ""), form.get("ApiKey", ""))
        if pair not in self.state.credentials:
            raise Failure("Invalid credentials: IntegrationPartnerID or ApiKey not recognized")
        account = form.get("AccountID", "")
        if not any(a == account for a, _ in self.state.properties):
            raise Failure("Invalid credentials: the integration partner has no access to this AccountID")
        if method in PROPERTY_METHODS and (account, form.get("PropertyID", "")) not in self.state.properties:
            raise Failure("Invalid credentials: the integration partner has no access to this PropertyID")

    def dispatch(self, method: str, form: dict[str, str]) -> ET.Element | dict[str, Any]:
        account, property_id = form.get("AccountID", ""), form.get("PropertyID", "")
        if method == "Account/GetProperties":
            return {
                "Properties": [
                    {
                        "PropertyID": p.property_id,
                        "Name": p.name,
                        "Phone": p.phone,
                        "Email": p.email,
                        "TimeZone": p.timezone,
                    }
                    for (a, _), p in self.state.properties.items()
                    if a == account
                ]
            }
        prop = self.state.properties[(account, property_id)]
        if method == "Leasing/GetEmployees":
            return {"Employees": prop.employees}
        if method == "Leasing/GetProspectSources":
            return {"ProspectSources": [{"ID": k, "Name": v} for k, v in prop.prospect_sources.items()]}
        if method == "Leasing/GetLostProspectReasons":
            return {"LostProspectReasons": [{"ID": k, "Name": v} for k, v in prop.lost_reasons.items()]}
        if method == "MITS/SearchProspects":
            return self.search(account, property_id, form)
        return self.post_lead(account, property_id, form.get("Xml", ""))

    def search(self, account: str, property_id: str, form: dict[str, str]) -> ET.Element:
        mine = [p for p in self.state.all_prospects() if (p.account_id, p.property_id) == (account, property_id)]
        start, end = form.get("ModifiedStartDateTime"), form.get("ModifiedEndDateTime")
        if form.get("ProspectID"):
            found = [p for p in mine if p.prospect_id == form["ProspectID"].strip()]
        elif form.get("Email"):
            found = [p for p in mine if (p.email or "").lower() == form["Email"].strip().lower()]
        elif form.get("Phone"):
            wanted = digits(form["Phone"])
            found = [p for p in mine if wanted and digits(p.phone) == wanted]
        elif form.get("FirstName") and form.get("LastName"):
            first, last = form["FirstName"].strip().lower(), form["LastName"].strip().lower()
            found = [p for p in mine if (p.first_name or "").lower() == first and (p.last_name or "").lower() == last]
        elif start or end:
            low, high = _parse_time(start), _parse_time(end)
            if low is None or high is None:
                raise Failure("ModifiedStartDateTime and ModifiedEndDateTime must be valid dates")
            found = [p for p in mine if low <= p.modified_at <= high]
            if len(found) > self.state.max_window_prospects:
                raise Raw(502, "Error: buffer overflow", "text/plain")
        else:
            raise Failure("At least one search criterion is required")
        return _lead(sorted(found, key=lambda p: int(p.prospect_id)))

    def post_lead(self, account: str, property_id: str, document: str) -> ET.Element:
        try:
            root = ET.fromstring(document)  # noqa: S314  # nosec B314 - the double parses what tests send
        except ET.ParseError as error:
            raise Failure(f"Invalid Xml: {error}", status="Error") from error
        nodes = root.findall("Prospects/Prospect")
        if root.tag != "LeadManagement" or not nodes:
            raise Failure("Invalid Xml: expected LeadManagement/Prospects/Prospect", status="Error")
        prop = self.state.properties[(account, property_id)]
        with self.state.lock:
            # Validate everything first so a refused post changes nothing.
            plans = [self._plan(account, property_id, prop.prospect_sources, node) for node in nodes]
            return _lead([self._apply(account, property_id, plan) for plan in plans])

    def _plan(self, account: str, property_id: str, sources: dict[str, str], node: ET.Element) -> dict[str, Any]:
        customer = node.find("Customers/Customer")
        if customer is None:
            raise Failure("Invalid Xml: a Prospect needs Customers/Customer", status="Error")
        ids = {i.get("IDType"): (i.get("IDValue") or "").strip() for i in customer.findall("Identification")}
        existing: Prospect | None = None
        wanted = ids.get("ProspectID") or None
        person = ids.get("PersonID") or None
        if wanted or person:
            existing = next(
                (
                    p
                    for p in self.state.all_prospects()
                    if (p.account_id, p.property_id) == (account, property_id)
                    and ((wanted and p.prospect_id == wanted) or (not wanted and p.person_id == person))
                ),
                None,
            )
            if existing is None:
                raise Failure("Prospect could not be found")
        events = []
        for event in node.findall("Events/Event"):
            when = _parse_time(event.get("EventDate"))
            if not event.get("EventType") or when is None:
                raise Failure("Event requires EventType and a valid EventDate")
            id_node = event.find("EventID")
            event_id = (id_node.get("IDValue") or id_node.text or "").strip() if id_node is not None else ""
            if event_id and (existing is None or all(e.event_id != event_id for e in existing.events)):
                raise Failure("Event could not be found")
            source = (event.findtext("TransactionSource") or "").strip() or None
            if source and sources and source not in sources:
                raise Failure("Transaction Source could not be found")
            agent = event.find("Agent/AgentID")
            events.append(
                {
                    "event_id": event_id or None,
                    "event_type": event.get("EventType", "").strip(),
                    "event_date": when,
                    "comments": (event.findtext("Comments") or "").strip() or None,
                    "source": source,
                    "agent": agent.get("IDValue") if agent is not None else None,
                }
            )
        return {
            "existing": existing,
            "type": (customer.get("Type") or "prospect").strip().lower(),
            "first": (customer.findtext("Name/FirstName") or "").strip() or None,
            "last": (customer.findtext("Name/LastName") or "").strip() or None,
            "email": (customer.findtext("Email") or "").strip() or None,
            "phone": (customer.findtext("Phone/PhoneNumber") or "").strip() or None,
            "preferences": {
                tag: text
                for tag in PREFERENCE_TAGS
                if (text := (node.findtext(f"CustomerPreferences/{tag}") or "").strip())
            },
            "events": events,
        }

    def _apply(self, account: str, property_id: str, plan: dict[str, Any]) -> Prospect:
        state = self.state
        prospect: Prospect | None = plan["existing"]
        if prospect is None:
            # As ResMan does: a post without ids is a new guest card, whoever it names.
            prospect = Prospect(state.next_id(), state.next_id(), account, property_id, created_at=state.now())
            state.prospects[prospect.prospect_id] = prospect
        reactivates = any(item["event_type"].lower() == REACTIVATE_EVENT for item in plan["events"])
        if plan["existing"] is None or plan["type"] == LOST or prospect.customer_type != LOST or reactivates:
            # A lost card stays lost whatever Type a post names, until a ReActivate event (or staff) revives it.
            prospect.customer_type = "prospect" if reactivates and plan["type"] == LOST else plan["type"]
        prospect.preferences.update(plan["preferences"])
        for attribute, key in (("first_name", "first"), ("last_name", "last"), ("email", "email"), ("phone", "phone")):
            if plan[key]:
                setattr(prospect, attribute, plan[key])
        for item in plan["events"]:
            if item["event_id"]:
                event = next(e for e in prospect.events if e.event_id == item["event_id"])
                event.event_type, event.event_date = item["event_type"], item["event_date"]
                event.comments = item["comments"] or event.comments
                event.transaction_source = item["source"] or event.transaction_source
            else:
                prospect.events.append(
                    Event(
                        state.next_id(),
                        item["event_type"],
                        item["event_date"],
                        item["comments"],
                        item["source"],
                        item["agent"],
                    )
                )
        state.touch(prospect)
        return prospect


def envelope(  # noqa: PLR0917 - mirrors the envelope's fields
    method: str,
    form: dict[str, str],
    status: str,
    error: str | None,
    payload: ET.Element | dict[str, Any] | None,
    as_xml: bool,
) -> bytes:
    head = {
        "MethodName": method.rsplit("/", maxsplit=1)[-1],
        "Status": status,
        "ErrorDescription": error,
        "AccountID": form.get("AccountID"),
        "PropertyID": form.get("PropertyID"),
    }
    if not as_xml:
        body = dict(head)
        if isinstance(payload, dict):
            body.update(payload)
        elif payload is not None:
            body["Response"] = ET.tostring(payload, encoding="unicode")
        return json.dumps(body).encode()
    root = ET.Element("ResMan")
    for key, value in head.items():
        ET.SubElement(root, key).text = None if value is None else str(value)
    if payload is not None:
        response = ET.SubElement(root, "Response")
        if isinstance(payload, dict):
            for key, items in payload.items():
                container = ET.SubElement(response, key)
                for item in items:
                    child = ET.SubElement(container, key[:-1] if key.endswith("s") else "Item")
                    for name, value in item.items():
                        ET.SubElement(child, name).text = None if value is None else str(value)
        else:
            response.append(payload)
    return ET.tostring(root, encoding="unicode", xml_declaration=True).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ResMan behind Cloudflare
    server: DoubleServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        if self.path.startswith(CONTROL_PREFIX):
            self._control("GET", b"")
            return
        self._send(404, b"Not Found", "text/plain")

    def do_DELETE(self) -> None:
        self._control("DELETE", self._body())

    def do_POST(self) -> None:
        raw = self._body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control("POST", raw)
            return
        self._resman(raw)

    # ---- ResMan -----------------------------------------------------------------------------------------------
    def _resman(self, raw: bytes) -> None:
        state = self.server.state
        state.enter()
        try:
            self._resman_call(raw)
        finally:
            state.leave()

    def _resman_call(self, raw: bytes) -> None:
        state = self.server.state
        method = self.path.split("?", 1)[0].strip("/")
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True).items()}
        as_xml = "xml" in (self.headers.get("Accept") or "").lower()
        entry: dict[str, Any] = {
            "method": method,
            "at": state.now().isoformat(),
            "account_id": form.get("AccountID"),
            "property_id": form.get("PropertyID"),
            "client_port": self.client_address[1],
            "fields": {k: v for k, v in form.items() if k not in ("ApiKey",)},
        }
        state.record(entry)
        if method not in KNOWN_METHODS:
            self._send(404, _HTML.format(code=404, text="Not Found").encode(), "text/html")
            entry["status"] = 404
            return
        fault = state.draw_fault(method)
        entry["fault"] = fault.kind if fault else None
        if fault is not None and fault.kind in ("latency", "hang"):
            state.sleep(fault.seconds, self.server.stopping)
            if fault.kind == "hang":
                entry["status"] = None
                self.close_connection = True
                return
            fault = None
        if fault is not None and not fault.after_commit:
            self._fault(fault, method, form, as_xml, entry)
            return
        try:
            self.server.api.check_credentials(method, form)
            payload = self.server.api.dispatch(method, form)
        except Failure as failure:
            entry["status"] = 200
            entry["error"] = failure.description
            self._send(
                200,
                envelope(method, form, failure.status, failure.description, None, as_xml),
                "application/xml" if as_xml else "application/json",
            )
            return
        except Raw as raw_answer:
            entry["status"] = raw_answer.code
            self._send(raw_answer.code, raw_answer.body.encode(), raw_answer.content_type, raw_answer.headers)
            return
        if fault is not None:
            entry["committed"] = True
            self._fault(fault, method, form, as_xml, entry)
            return
        entry["status"] = 200
        self._send(
            200,
            envelope(method, form, "Success", None, payload, as_xml),
            "application/xml" if as_xml else "application/json",
        )

    def _fault(self, fault: Fault, method: str, form: dict[str, str], as_xml: bool, entry: dict[str, Any]) -> None:
        kind = fault.kind
        content_type = "application/xml" if as_xml else "application/json"
        if kind in ("status_error", "status_failed", "bad_credentials"):
            status = "Error" if kind == "status_error" else "Failed"
            text = {
                "status_error": "An unexpected error occurred",
                "status_failed": "Transaction Source could not be found",
                "bad_credentials": "Invalid credentials: IntegrationPartnerID or ApiKey not recognized",
            }[kind]
            entry["status"] = 200
            self._send(200, envelope(method, form, status, text, None, as_xml), content_type)
        elif kind == "malformed_xml":
            entry["status"] = 200
            self._send(200, b"<?xml version='1.0'?><ResMan><MethodName>", content_type)
        elif kind == "buffer_overflow":
            entry["status"] = 502
            self._send(502, b"Error: buffer overflow", "text/plain")
        elif kind == "http_429":
            entry["status"] = 429
            self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": f"{fault.retry_after:g}"})
        else:
            code = int(kind.split("_")[1])
            entry["status"] = code
            self._send(code, _HTML.format(code=code, text=_HTML_TEXT[code]).encode(), "text/html")

    # ---- test-only controls -----------------------------------------------------------------------------------
    def _control(self, verb: str, raw: bytes) -> None:
        try:
            data = json.loads(raw) if raw else {}
            answer = self.server.controls(verb, self.path[len(CONTROL_PREFIX) :].split("?", 1)[0].strip("/"), data)
        except (KeyError, ValueError, TypeError) as error:
            self._send(400, json.dumps({"error": f"{type(error).__name__}: {error}"}).encode(), "application/json")
            return
        if answer is None:
            self._send(404, b'{"error": "no such control"}', "application/json")
            return
        self._send(200, json.dumps(answer, default=str).encode(), "application/json")


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: DoubleState) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.api = ResManApi(state)
        self.stopping = threading.Event()

    def controls(self, verb: str, name: str, data: dict[str, Any]) -> Any:  # noqa: PLR0911, PLR0912
        state = self.state
        if (verb, name) == ("POST", "reset"):
            state.reset(keep_properties=bool(data.get("keep_properties")))
            return {"ok": True}
        if (verb, name) == ("GET", "log"):
            return {"requests": state.requests()}
        if (verb, name) == ("GET", "prospects"):
            return {"prospects": [p.as_dict() for p in state.all_prospects()]}
        if (verb, name) == ("POST", "clock"):
            if "now" in data:
                state.set_now(datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")))
            else:
                state.advance(float(data.get("advance_seconds", 0)))
            return {"now": state.now().isoformat()}
        if (verb, name) == ("GET", "clock"):
            return {"now": state.now().isoformat()}
        if (verb, name) in (("POST", "properties"), ("POST", "accounts")):
            if data.get("integration_partner_id") and data.get("api_key"):
                state.add_credentials(str(data["integration_partner_id"]), str(data["api_key"]))
            sources = dict(data.get("prospect_sources") or {})
            if data.get("prospect_source_id"):
                sources[str(data["prospect_source_id"])] = "DomIQ"
            prop = state.add_property(
                str(data["account_id"]),
                str(data["property_id"]),
                name=str(data.get("name") or "Property"),
                timezone=str(data.get("timezone") or "America/Chicago"),
                prospect_sources=sources,
            )
            return {"account_id": prop.account_id, "property_id": prop.property_id}
        if (verb, name) == ("POST", "faults"):
            fault = Fault(
                **{
                    k: data[k]
                    for k in ("kind", "method", "times", "probability", "seconds", "retry_after", "after_commit")
                    if k in data
                }
            )
            state.add_fault(fault)
            return {"ok": True}
        if (verb, name) == ("DELETE", "faults"):
            state.clear_faults()
            return {"ok": True}
        if (verb, name) == ("POST", "config"):
            if "max_window_prospects" in data:
                state.max_window_prospects = int(data["max_window_prospects"])
            return {"max_window_prospects": state.max_window_prospects}
        if (verb, name) == ("POST", "outcome"):
            prospect = state.set_outcome(str(data["prospect_id"]), str(data["outcome"]))
            return prospect.as_dict()
        if (verb, name) == ("POST", "cards"):
            card = state.add_card(
                str(data["account_id"]),
                str(data["property_id"]),
                first_name=data.get("first_name"),
                last_name=data.get("last_name"),
                email=data.get("email"),
                phone=data.get("phone"),
                customer_type=str(data.get("customer_type") or "prospect"),
                preferences=data.get("preferences"),
            )
            return card.as_dict()
        if (verb, name) == ("POST", "cards/edit"):
            changes = {k: v for k, v in data.items() if k != "prospect_id"}
            return state.edit_card(str(data["prospect_id"]), changes).as_dict()
        if (verb, name) == ("POST", "appointments"):
            when = datetime.fromisoformat(str(data["date"]).replace("Z", "+00:00"))
            prospect, event = state.add_staff_appointment(
                str(data["account_id"]),
                str(data["property_id"]),
                when,
                first_name=str(data.get("first_name") or "Walk"),
                last_name=str(data.get("last_name") or "In"),
                email=data.get("email"),
                phone=data.get("phone"),
                prospect_id=data.get("prospect_id"),
            )
            return {"prospect_id": prospect.prospect_id, "event_id": event.event_id}
        return None

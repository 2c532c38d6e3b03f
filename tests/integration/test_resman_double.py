"""The ResMan double's own surface over HTTP: the envelope by Accept, credentials, controls, the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tools.resman_double import DoubleHandle, start_double

ACCOUNT, PROPERTY = "400", "p-1"
CREDENTIALS = {"IntegrationPartnerID": "partner", "ApiKey": "key", "AccountID": ACCOUNT, "PropertyID": PROPERTY}
LEAD = (
    '<LeadManagement><Prospects><Prospect><Customers><Customer Type="prospect"><Name><FirstName>A</FirstName>'
    "<LastName>B</LastName></Name><Email>a@example.com</Email></Customer></Customers><Events>"
    '<Event EventType="Appointment" EventDate="2027-01-05T14:00:00Z"/></Events></Prospect></Prospects>'
    "</LeadManagement>"
)


@pytest.fixture
def double() -> Iterator[DoubleHandle]:
    handle = start_double(port=0)
    handle.state.add_property(ACCOUNT, PROPERTY)
    yield handle
    handle.stop()


def resman(double: DoubleHandle, method: str, accept: str, **fields: str) -> tuple[int, str]:
    body = urlencode({**CREDENTIALS, **fields}).encode()
    request = urllib.request.Request(f"{double.url}/{method}", data=body, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def control(double: DoubleHandle, verb: str, name: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{double.url}/__double__/{name}", data=data, method=verb, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_the_envelope_follows_accept(double: DoubleHandle) -> None:
    status, text = resman(double, "Leasing/GetEmployees", "application/json")
    data = json.loads(text)
    assert (status, data["MethodName"], data["Status"], data["ErrorDescription"]) == (
        200,
        "GetEmployees",
        "Success",
        None,
    )
    assert (data["AccountID"], data["PropertyID"]) == (ACCOUNT, PROPERTY)
    assert data["Employees"]
    status, text = resman(double, "MITS/PostLeadManagement4_0", "application/xml", Xml=LEAD)
    root = ET.fromstring(text)
    assert (root.tag, root.findtext("Status")) == ("ResMan", "Success")
    ids = root.findall("Response/LeadManagement/Prospects/Prospect/Customers/Customer/Identification")
    assert {i.get("IDType") for i in ids} == {"ProspectID", "PersonID"}
    assert root.find("Response/LeadManagement/Prospects/Prospect/Events/Event/EventID") is not None


def test_bad_credentials_answer_200_failed(double: DoubleHandle) -> None:
    status, text = resman(double, "Leasing/GetEmployees", "application/json", ApiKey="nope")
    data = json.loads(text)
    assert (status, data["Status"]) == (200, "Failed")
    assert "credentials" in data["ErrorDescription"].lower()


def test_controls_inject_faults_and_read_the_log(double: DoubleHandle) -> None:
    control(
        double, "POST", "faults", {"kind": "http_429", "method": "Leasing/GetEmployees", "times": 1, "retry_after": 3}
    )
    status, _ = resman(double, "Leasing/GetEmployees", "application/json")
    assert status == 429
    control(double, "POST", "faults", {"kind": "http_502", "times": 1})
    status, text = resman(double, "Leasing/GetEmployees", "application/json")
    assert status == 502
    assert "<html>" in text
    assert resman(double, "Leasing/GetEmployees", "application/json")[0] == 200
    log = control(double, "GET", "log")["requests"]
    assert [entry["status"] for entry in log] == [429, 502, 200]
    assert all("ApiKey" not in entry["fields"] for entry in log)


def test_controls_set_outcomes_and_the_clock(double: DoubleHandle) -> None:
    resman(double, "MITS/PostLeadManagement4_0", "application/xml", Xml=LEAD)
    [prospect] = control(double, "GET", "prospects")["prospects"]
    control(double, "POST", "clock", {"advance_seconds": 7200})
    changed = control(double, "POST", "outcome", {"prospect_id": prospect["prospect_id"], "outcome": "lost"})
    assert changed["customer_type"] == "lost"
    assert changed["modified_at"] > prospect["modified_at"]
    control(double, "POST", "reset", {"keep_properties": True})
    assert control(double, "GET", "prospects")["prospects"] == []


def test_the_command_serves_until_terminated() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "layers" / "shared"), str(root)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.resman_double", "--port", "0", "--demo"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["resman_double"]
        with urllib.request.urlopen(f"{url}/__double__/clock", timeout=5) as answer:
            assert answer.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)

"""The ResMan legacy API client: form-encoded POSTs to `<base>/<Area>/<Method>`.

- One keep-alive HTTP connection per thread and host (stdlib http.client: nothing to add to the layer).
- Timeouts on every call (RESMAN_TIMEOUT_SECONDS).
- Transient failures (network errors, timeouts, 5xx including Cloudflare's HTML pages, 429, an unparsable
  answer) are retried with exponential backoff and full jitter (RESMAN_MAX_ATTEMPTS,
  RESMAN_BACKOFF_BASE_SECONDS, RESMAN_BACKOFF_MAX_SECONDS); 429's `Retry-After` is honoured.
- Permanent failures are never retried: `Status` `Failed` or `Error` inside an HTTP 200 (both words are
  failures), bad credentials, other 4xx.
- `SearchProspects`' `buffer overflow` 502 is raised at once as ResManWindowTooWideError: the caller halves the
  window.
- Posts that would create something (a guest card or a new event) are not idempotent: after a failure where
  ResMan may have processed the post (a timeout, a 5xx) they are not retried here; the caller searches again
  before re-posting, so a retry never makes a duplicate.
- At most RESMAN_MAX_CONCURRENCY_PER_ACCOUNT calls in flight per AccountID in this container: ResMan is not
  auto-scaled.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from aws_lambda_powertools import Logger

from tour_booking.domain.guest_card import CardPost, EventPost, GuestCard
from tour_booking.resman import mits
from tour_booking.resman.errors import (
    ResManAuthError,
    ResManConfigurationError,
    ResManError,
    ResManPermanentError,
    ResManTransientError,
    ResManWindowTooWideError,
)
from tour_booking.settings import Settings, get_settings

logger = Logger(child=True)

FAILURE_WORDS = frozenset({"failed", "error", "failure"})
# ResMan's texts for refused credentials are undocumented ([guess]); these words mark them.
_AUTH_HINTS = (
    "credential",
    "apikey",
    "api key",
    "integrationpartner",
    "integration partner",
    "not authorized",
    "unauthorized",
    "access denied",
)


@dataclass(frozen=True)
class Credentials:
    integration_partner_id: str
    api_key: str


@dataclass(frozen=True)
class Answer:
    """A successful answer: the XML root `<ResMan>` asked for, or the JSON envelope ResMan may answer instead
    (its Status read the same way, so a failure in it is still typed)."""

    json: dict[str, Any] | None
    xml: Any | None


def load_credentials(settings: Settings) -> Credentials:
    """Secrets Manager (RESMAN_SECRET_ARN, JSON with IntegrationPartnerID and ApiKey) in AWS, else the env."""
    if settings.resman_secret_arn:
        from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - only AWS needs boto3

        secret: dict[str, Any] = parameters.get_secret(settings.resman_secret_arn, transform="json", max_age=300)
        return Credentials(str(secret["IntegrationPartnerID"]), str(secret["ApiKey"]))
    if settings.resman_integration_partner_id and settings.resman_api_key:
        return Credentials(settings.resman_integration_partner_id, settings.resman_api_key)
    raise ResManConfigurationError("set RESMAN_SECRET_ARN, or RESMAN_INTEGRATION_PARTNER_ID and RESMAN_API_KEY")


def _failure_words(status: str | None) -> bool:
    return status is not None and status.strip().lower() in FAILURE_WORDS


def _is_auth_failure(description: str | None) -> bool:
    text = (description or "").lower()
    return any(hint in text for hint in _AUTH_HINTS)


class ResManClient:
    def __init__(self, settings: Settings, credentials: Credentials | None = None) -> None:
        self._settings = settings
        self._credentials = credentials
        split = urlsplit(settings.resman_base_url)
        if split.scheme not in {"http", "https"} or not split.hostname:
            raise ResManConfigurationError("RESMAN_BASE_URL must be an http(s) URL")
        self._scheme = split.scheme
        self._host = split.hostname
        self._port = split.port
        self._prefix = split.path.rstrip("/")
        self._local = threading.local()
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._limits_lock = threading.Lock()
        self._random = random.Random()  # noqa: S311  # nosec B311 - jitter, not security

    # ---- plumbing -------------------------------------------------------------------------------------------
    def _creds(self) -> Credentials:
        if self._credentials is None:
            self._credentials = load_credentials(self._settings)
        return self._credentials

    def _limit(self, account_id: str) -> threading.BoundedSemaphore:
        with self._limits_lock:
            semaphore = self._limits.get(account_id)
            if semaphore is None:
                semaphore = threading.BoundedSemaphore(self._settings.resman_max_concurrency_per_account)
                self._limits[account_id] = semaphore
            return semaphore

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._settings.resman_timeout_seconds)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = self._settings.resman_backoff_max_seconds
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        return self._random.uniform(0, min(cap, self._settings.resman_backoff_base_seconds * 2**attempt))

    def call(
        self,
        method: str,
        account_id: str,
        property_id: str | None,
        fields: Mapping[str, str] | None = None,
        *,
        idempotent: bool = True,
    ) -> Answer:
        """One ResMan method with retries on transient failures; raises a ResManError subclass otherwise."""
        attempts = self._settings.resman_max_attempts
        last: ResManTransientError | None = None
        for attempt in range(attempts):
            try:
                with self._limit(account_id):
                    return self._once(method, account_id, property_id, fields or {})
            except ResManTransientError as error:
                last = error
                if not idempotent and not error.not_processed:
                    raise
                if attempt + 1 >= attempts:
                    break
                delay = self._backoff(attempt, error.retry_after)
                logger.info(
                    "ResMan transient failure, retrying",
                    extra={
                        "method": method,
                        "http_status": error.http_status,
                        "attempt": attempt + 1,
                        "delay_seconds": round(delay, 3),
                    },
                )
                time.sleep(delay)
        if last is None:
            raise ResManTransientError(f"{method}: no attempt made", method=method)
        raise last

    def _once(self, method: str, account_id: str, property_id: str | None, fields: Mapping[str, str]) -> Answer:
        creds = self._creds()
        form = {"IntegrationPartnerID": creds.integration_partner_id, "ApiKey": creds.api_key, "AccountID": account_id}
        if property_id is not None:
            form["PropertyID"] = property_id
        form.update(fields)
        body = urlencode(form).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/xml",
            "Connection": "keep-alive",
        }
        conn = self._connection()
        sent = False
        try:
            conn.request("POST", f"{self._prefix}/{method}", body=body, headers=headers)
            sent = True
            response = conn.getresponse()
            status = response.status
            payload = response.read()
            retry_after_header = response.getheader("Retry-After")
            if response.will_close:
                self._drop_connection()
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            kind = "timeout" if isinstance(error, (socket.timeout, TimeoutError)) else type(error).__name__
            # Refused before anything was sent: safe to retry even a post that creates.
            refused = not sent and isinstance(error, ConnectionRefusedError)
            raise ResManTransientError(
                f"{method}: network failure ({kind})", method=method, not_processed=refused
            ) from error
        text = payload.decode("utf-8", errors="replace")
        if status == 429:
            retry_after = _seconds(retry_after_header)
            raise ResManTransientError(
                f"{method}: HTTP 429", method=method, http_status=429, retry_after=retry_after, not_processed=True
            )
        if status == 502 and "buffer overflow" in text.lower():
            raise ResManWindowTooWideError(f"{method}: buffer overflow", method=method, http_status=502)
        if status >= 500:
            raise ResManTransientError(f"{method}: HTTP {status}", method=method, http_status=status)
        if status in (401, 403):
            raise ResManAuthError(f"{method}: HTTP {status} (credentials refused)", method=method, http_status=status)
        if status >= 400:
            raise ResManPermanentError(f"{method}: HTTP {status}", method=method, http_status=status)
        return self._envelope(method, text, http_status=status)

    def _envelope(self, method: str, text: str, *, http_status: int) -> Answer:
        stripped = text.lstrip()
        if stripped.startswith("<"):
            try:
                root = mits.parse_document(stripped)
            except mits.MitsParseError as error:
                raise ResManTransientError(f"{method}: {error}", method=method, http_status=http_status) from error
            if root.tag != "ResMan":
                raise ResManTransientError(f"{method}: unexpected XML root", method=method, http_status=http_status)
            status_text = (root.findtext("Status") or "").strip()
            description = (root.findtext("ErrorDescription") or "").strip() or None
            self._check_status(method, status_text, description)
            return Answer(json=None, xml=root)
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ResManTransientError(
                f"{method}: unparsable answer", method=method, http_status=http_status
            ) from error
        if not isinstance(data, dict):
            raise ResManTransientError(f"{method}: unexpected answer", method=method, http_status=http_status)
        self._check_status(method, str(data.get("Status") or ""), data.get("ErrorDescription"))
        return Answer(json=data, xml=None)

    @staticmethod
    def _check_status(method: str, status: str, description: Any) -> None:
        if _failure_words(status):
            text = str(description or "no description")[:300]
            if _is_auth_failure(text):
                raise ResManAuthError(f"{method}: {status}: {text}", method=method, http_status=200)
            raise ResManPermanentError(f"{method}: {status}: {text}", method=method, http_status=200)
        if status.strip().lower() != "success":
            raise ResManTransientError(f"{method}: unexpected Status {status[:40]!r}", method=method)

    # ---- methods ----------------------------------------------------------------------------------------------
    def _prospects(self, answer: Answer, method: str) -> list[GuestCard]:
        if answer.xml is None:
            raise ResManTransientError(f"{method}: expected XML", method=method)
        try:
            return mits.parse_prospects(answer.xml)
        except mits.MitsParseError as error:
            raise ResManTransientError(f"{method}: {error}", method=method) from error

    def search_prospects(self, account_id: str, property_id: str, **criteria: str) -> list[GuestCard]:
        """`MITS/SearchProspects` by Email, Phone, ProspectID, FirstName+LastName (ResMan's field names)."""
        answer = self.call("MITS/SearchProspects", account_id, property_id, criteria)
        return self._prospects(answer, "MITS/SearchProspects")

    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> list[GuestCard]:
        """Prospects modified in the window; ResManWindowTooWideError when ResMan finds it too wide."""
        return self.search_prospects(
            account_id,
            property_id,
            ModifiedStartDateTime=mits.utc_text(start),
            ModifiedEndDateTime=mits.utc_text(end),
        )

    def get_prospect(self, account_id: str, property_id: str, prospect_id: str) -> GuestCard | None:
        found = self.search_prospects(account_id, property_id, ProspectID=prospect_id)
        return next((p for p in found if p.prospect_id == prospect_id), None)

    def post_lead(
        self,
        account_id: str,
        property_id: str,
        customer: CardPost,
        events: Sequence[EventPost] = (),
    ) -> GuestCard:
        """`MITS/PostLeadManagement4_0`: creates a guest card (no ids) or updates one and appends or updates
        events. Not retried after an ambiguous failure when it creates something (see the module doc)."""
        creates = customer.prospect_id is None or any(e.event_id is None for e in events)
        answer = self.call(
            "MITS/PostLeadManagement4_0",
            account_id,
            property_id,
            {"Xml": mits.build_lead(customer, events)},
            idempotent=not creates,
        )
        prospects = self._prospects(answer, "MITS/PostLeadManagement4_0")
        if not prospects:
            raise ResManTransientError("MITS/PostLeadManagement4_0: no prospect in the answer")
        return prospects[0]


def _seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        return max((when - datetime.now(when.tzinfo)).total_seconds(), 0.0)


@lru_cache(maxsize=8)
def _client_for(settings: Settings) -> ResManClient:
    return ResManClient(settings)


class _ContainerClient:
    """`get_resman_client()`: the container's client, built once from its settings, so that its connections and
    per-account limits are shared by every call; `get_resman_client.cache_clear()` builds it again."""

    def __call__(self) -> ResManClient:
        return _client_for(get_settings())

    def cache_clear(self) -> None:
        _client_for.cache_clear()


get_resman_client = _ContainerClient()


__all__ = ["ResManClient", "ResManError", "get_resman_client"]

"""Configuration, parsed once per container from the environment (names as the README's Configuration table gives them).

In Lambda a container is a process and its environment is `os.environ`. Locally (`make dev`) every function's
containers share one process, so each container thread declares its function's own variables from
template.yaml with `function_environment`; they lie over `os.environ` for the code running inside it, and for the
worker threads it starts with a copy of its context.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    # Frozen: a container's clients are cached by the settings they were built from.
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # Database: DATABASE_URL locally; in AWS the RDS secret plus the RDS Proxy endpoint.
    database_url: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_port: int | None = None
    db_name: str | None = None
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_statement_timeout_ms: int = Field(default=5000, ge=0)
    # TLS of the AWS path (DB_SECRET_ARN); DATABASE_URL carries its own. An empty DB_SSLROOTCERT means certifi's
    # bundle, which verifies RDS Proxy; direct RDS needs the RDS CA bundle's path here.
    db_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "verify-full"
    db_sslrootcert: str | None = None
    # psycopg prepares a statement after it ran this often; prepared statements pin RDS Proxy sessions,
    # so "off" (or an empty value) disables them there.
    db_prepare_threshold: int | None = 5

    sync_queue_url: str | None = None
    # X-Ray SDK subsegments (tour_booking/observability.py): "off", Lambda's active tracing alone; "xray", the SDK
    # loaded by the first sampled invocation.
    tracing_sdk: Literal["off", "xray"] = "off"

    resman_base_url: str = "https://api.myresman.com"
    resman_secret_arn: str | None = None
    resman_integration_partner_id: str | None = None
    resman_api_key: str | None = None
    resman_timeout_seconds: float = Field(default=10.0, gt=0)
    resman_max_attempts: int = Field(default=4, ge=1)
    resman_backoff_base_seconds: float = Field(default=0.5, ge=0)
    resman_backoff_max_seconds: float = Field(default=20.0, ge=0)
    resman_max_concurrency_per_account: int = Field(default=2, ge=1)
    resman_prospect_source_id: str | None = None
    resman_appointment_event_type: str = "Appointment"
    # The MITS event that makes a `lost` guest card active again when a new tour is posted to it.
    resman_reactivate_event_type: str = Field(default="ReActivate", min_length=1)

    cache_refresh_interval_minutes: int = Field(default=15, ge=1)
    refresh_horizon_days: int = Field(default=14, ge=1, le=365)
    refresh_concurrency: int = Field(default=8, ge=1)
    # The refresh spread over a queue (tour_booking.refresh.refresh_queue): the schedule queues batches of this many
    # properties of one ResMan account; unset, the schedule refreshes every property itself.
    refresh_queue_url: str | None = None
    refresh_batch_properties: int = Field(default=10, ge=1, le=1000)
    refresh_window_overlap_minutes: int = Field(default=5, ge=0)
    no_show_grace_minutes: int = Field(default=120, ge=0)
    sweeper_pending_age_seconds: int = Field(default=300, ge=0)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # POST /holds without ttl_seconds: how long a hold keeps its seat (the API accepts 60..900).
    hold_ttl_seconds: int = Field(default=300, ge=60, le=900)
    # Cache refresh: how far back a property's first ResMan pull reaches, and the shortest modified window
    # that is still halved when ResMan answers `buffer overflow`.
    refresh_initial_lookback_days: int = Field(default=30, ge=0)
    refresh_min_window_seconds: int = Field(default=60, ge=1)
    # ResMan sync: tours synced at once inside one SQS batch (each thread holds one database connection; ResMan
    # calls stay capped by RESMAN_MAX_CONCURRENCY_PER_ACCOUNT), and the most tours one sweep re-sends.
    resman_sync_workers: int = Field(default=10, ge=1, le=64)
    sweeper_batch_limit: int = Field(default=500, ge=1)
    # A sync claims its tour and its prospect's identity for this long (a crashed container's claim then expires
    # by itself): longer than the sync function's timeout, so a live sync never outlives its claim. Another sync
    # of the same tour or prospect waits up to SYNC_CLAIM_WAIT_SECONDS, then leaves the message to SQS's retry.
    sync_claim_lease_seconds: int = Field(default=150, ge=1)
    sync_claim_wait_seconds: float = Field(default=5.0, ge=0)
    # ResMan's clock stamps modified dates: windows reach this far past ours (the watermark never does).
    refresh_window_lookahead_minutes: int = Field(default=10080, ge=0)

    # Tour events (README "Tour events"): the EventBridge bus, the reminders' offsets before a tour's start, the
    # publisher's lease on the rows it claimed (longer than its function's timeout, so a live publisher never
    # outlives it; a crashed one's rows come back after it), the delay before a refused entry is sent again, and
    # how long published events stay in the outbox (the bus's archive keeps them for replay).
    event_bus_name: str | None = None
    reminder_offsets_minutes: Annotated[tuple[int, ...], NoDecode] = (1440, 120)
    event_publish_lease_seconds: int = Field(default=120, ge=1)
    event_retry_seconds: int = Field(default=30, ge=0)
    event_retention_days: int = Field(default=7, ge=1)

    @field_validator("db_prepare_threshold", mode="before")
    @classmethod
    def _off_means_none(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "off", "none", "disabled"}:
            return None
        return value

    @field_validator("reminder_offsets_minutes", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("reminder_offsets_minutes")
    @classmethod
    def _positive_offsets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(offset <= 0 for offset in value):
            raise ValueError("reminder offsets are minutes before the start, each above 0")
        return tuple(sorted(set(value), reverse=True))


Variables = tuple[tuple[str, str], ...]

_function_variables: ContextVar[Variables] = ContextVar("tour_booking_function_variables", default=())


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, get_settings() reads `variables` over os.environ (a local function's own Environment)."""
    token = _function_variables.set(tuple(sorted(variables.items())))
    try:
        yield
    finally:
        _function_variables.reset(token)


@lru_cache(maxsize=8)
def _parse(variables: Variables) -> Settings:
    fields: dict[str, Any] = {name.lower(): value for name, value in variables if name.lower() in Settings.model_fields}
    return Settings(**fields)


class _ContainerSettings:
    """`get_settings()`: the container's Settings, parsed once; `get_settings.cache_clear()` parses them again."""

    def __call__(self) -> Settings:
        return _parse(_function_variables.get())

    def cache_clear(self) -> None:
        _parse.cache_clear()


get_settings = _ContainerSettings()

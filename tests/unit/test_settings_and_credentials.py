"""Settings parsing and the database credentials taken from Secrets Manager (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import certifi
import pytest
from moto import mock_aws
from psycopg.conninfo import conninfo_to_dict

from tour_booking.db import conninfo
from tour_booking.settings import Settings, get_settings


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("value", ["off", "OFF", "", "none"])
def test_prepare_threshold_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", value)
    assert Settings().db_prepare_threshold is None


def test_prepare_threshold_takes_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "3")
    assert Settings().db_prepare_threshold == 3


def test_database_url_wins_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost:5999/x")
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope")
    assert conninfo(Settings()) == "postgresql://u@localhost:5999/x"


def test_rds_secret_with_the_proxy_endpoint_in_front(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        # given an RDS-format secret and the RDS Proxy endpoint in DB_HOST
        arn = boto3.client("secretsmanager").create_secret(
            Name="tour-booking/db",
            SecretString=json.dumps(
                {
                    "engine": "postgres",
                    "host": "db-instance.internal",
                    "port": 5432,
                    "dbname": "domiq",
                    "username": "tour_booking",
                    "password": "s3cr3t p@ss",
                }
            ),
        )["ARN"]
        monkeypatch.setenv("DB_SECRET_ARN", arn)
        monkeypatch.setenv("DB_HOST", "proxy.endpoint.internal")

        # when the connection string is built
        params = conninfo_to_dict(conninfo(Settings()))

    # then the proxy is used with the secret's user, password and database
    assert params["host"] == "proxy.endpoint.internal"
    assert params["user"] == "tour_booking"
    assert params["password"] == "s3cr3t p@ss"
    assert params["dbname"] == "domiq"
    # and TLS verifies the proxy's name and certificate against certifi's bundle (Amazon Trust Services roots)
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == certifi.where()

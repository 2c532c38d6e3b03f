"""The booking API's logger and metrics, shared by its handler, its routes and its error handlers."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="booking-api")
metrics = Metrics(namespace="TourBooking")

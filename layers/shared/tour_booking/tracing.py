"""The functions' X-Ray tracer (Powertools), off outside Lambda: tests, `make dev` and `sam local` record nothing.

Only the AWS SDK and http.client (ResMan's calls) are patched. The X-Ray SDK's psycopg patch wraps each
connection in a proxy whose `execute` bypasses the trace, so the database time shows as the handler's own.
Handler responses are never recorded (POWERTOOLS_TRACER_CAPTURE_RESPONSE is false in template.yaml, and the
handlers say so too): a tour carries the prospect's name, email and phone.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer

PATCHED_MODULES = ("botocore", "httplib")


def function_tracer() -> Tracer:
    return Tracer(patch_modules=PATCHED_MODULES)

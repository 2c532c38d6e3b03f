"""`python -m tools.resman_double --port N`: the double as a process, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading

from tools.resman_double import DEFAULT_API_KEY, DEFAULT_INTEGRATION_PARTNER_ID, seed_demo, start_double


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ResMan test double on loopback")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--integration-partner-id", default=DEFAULT_INTEGRATION_PARTNER_ID)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--account-id", help="seed one property of this account")
    parser.add_argument("--property-id", help="seed one property with this id")
    parser.add_argument("--prospect-source-id", help="a valid TransactionSource for the seeded property")
    parser.add_argument("--demo", action="store_true", help="seed the local stack's demo (tools/demo_data.py)")
    args = parser.parse_args(argv)
    double = start_double(
        args.port, args.host, integration_partner_id=args.integration_partner_id, api_key=args.api_key
    )
    if args.account_id and args.property_id:
        sources = {args.prospect_source_id: "DomIQ"} if args.prospect_source_id else {}
        double.state.add_property(args.account_id, args.property_id, prospect_sources=sources)
    if args.demo:
        seed_demo(double)
    print(json.dumps({"resman_double": double.url}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    double.stop()


if __name__ == "__main__":
    main()

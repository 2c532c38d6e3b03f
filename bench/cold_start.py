"""Each function's init import the way Lambda imports a handler, and what each tracing option adds to it.

Lambda's init runs `import app` with AWS_LAMBDA_FUNCTION_NAME set (Powertools then believes it is in Lambda and
its Tracer is live). Each sample is a fresh interpreter importing the handler, minus a bare interpreter
(`python -c pass`) measured in the same round; the rounds interleave every variant, so the machine's noise falls on
all of them alike. Medians of ROUNDS rounds (7 or more).

Tracing options, each added to the booking API handler's import:
- `active tracing alone`: the handler as shipped (`tour_booking.observability` imports no SDK at init); Lambda's
  active tracing records the function's own segments (Initialization, Invocation, Overhead) without any code;
- `X-Ray SDK at init`: what the handlers did before: Powertools' Tracer with botocore and httplib patched
  at import;
- `X-Ray SDK lazily, first sampled call`: the SDK loaded and patched by the first sampled invocation
  (`tour_booking.observability.load_tracer()`): paid once per container, only when a request is traced;
- `OpenTelemetry SDK at init`: the OpenTelemetry SDK, its tracer provider and an OTLP/HTTP exporter, what
  ADOT's Python layer loads before a handler (only when `opentelemetry-sdk` is installed; ADOT's layer also
  starts a collector extension, reported at 750-1,000 ms of init, which no import here measures).

`python -m bench cold_start`, or `python -m bench.cold_start --rounds 9 --before <git revision>` (that revision's
handlers measured in the same rounds).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 300.0
ROUNDS = 9

FUNCTIONS = {
    "booking_api": "import functions.booking_api.app",
    "resman_sync": "import functions.resman_sync.app",
    "cache_refresh": "import functions.cache_refresh.app",
    "refresh_worker": "import functions.refresh_worker.app",
    "event_publisher": "import functions.event_publisher.app",
    "migrate": "import functions.migrate.app",
}

_EAGER_XRAY = (
    "import functions.booking_api.app\n"
    "from aws_lambda_powertools import Tracer\n"
    "Tracer(patch_modules=('botocore', 'httplib'))\n"
)
_LAZY_XRAY = "import functions.booking_api.app\nfrom tour_booking import observability\nobservability.load_tracer()\n"
_OTEL = (
    "import functions.booking_api.app\n"
    "from opentelemetry import trace\n"
    "from opentelemetry.sdk.trace import TracerProvider\n"
    "from opentelemetry.sdk.trace.export import BatchSpanProcessor\n"
    "from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter\n"
    "provider = TracerProvider()\n"
    "provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint='http://127.0.0.1:4318/v1/traces')))\n"
    "trace.set_tracer_provider(provider)\n"
)


# Where the OpenTelemetry SDK is installed when it is not in this environment (it is no dependency of the
# project): `pip install --target DIR opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`.
OTEL_PATH = os.environ.get("BENCH_OTEL_PATH", "")


def _installed(*modules: str) -> bool:
    if OTEL_PATH and OTEL_PATH not in sys.path:
        sys.path.append(OTEL_PATH)
    try:
        return all(importlib.util.find_spec(module) is not None for module in modules)
    except ModuleNotFoundError:  # a parent package is missing
        return False


def tracing_variants() -> dict[str, str]:
    variants = {
        "active tracing alone (as shipped)": FUNCTIONS["booking_api"],
        "X-Ray SDK at init (before)": _EAGER_XRAY,
        "X-Ray SDK lazily, at the first sampled call": _LAZY_XRAY,
    }
    if _installed("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http"):
        variants["OpenTelemetry SDK + OTLP exporter at init"] = _OTEL
    return variants


def lambda_environment(root: Path = ROOT, extra_path: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"}}
    env.update(
        PYTHONPATH=":".join(filter(None, [f"{root / 'layers/shared'}", str(root), extra_path])),
        AWS_LAMBDA_FUNCTION_NAME="tour-booking-cold-start",
        LAMBDA_TASK_ROOT=str(root),
        AWS_REGION=env.get("AWS_REGION", "us-east-1"),
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        POWERTOOLS_SERVICE_NAME="tour-booking",
    )
    return env


def _run(code: str, root: Path) -> float:
    start = time.perf_counter()
    # Only the OpenTelemetry variant sees OTEL_PATH: its packages (urllib3, typing_extensions...) would shadow ours.
    env = lambda_environment(root, OTEL_PATH if "opentelemetry" in code else "")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=root)  # noqa: S603
    return (time.perf_counter() - start) * 1000


def measure(variants: dict[str, str | tuple[str, Path]], rounds: int) -> dict[str, float]:
    """Median over `rounds` of (variant - bare interpreter of the same round), in ms, variants interleaved.
    A variant is code run in this tree, or (code, another tree)."""
    runs = {name: (v, ROOT) if isinstance(v, str) else v for name, v in variants.items()}
    for code, root in runs.values():  # compile the .pyc files once, outside the samples
        _run(code, root)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        bare = _run("pass", ROOT)
        for name, (code, root) in runs.items():
            samples[name].append(_run(code, root) - bare)
    return {name: statistics.median(values) for name, values in samples.items()}


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """The tree of `revision` (git archive) in a scratch folder, for a before/after in one run."""
    with tempfile.TemporaryDirectory(prefix="cold-start-") as folder:
        archive = subprocess.run(  # noqa: S603
            ["git", "archive", revision, "functions", "layers/shared/tour_booking"],  # noqa: S607
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--before", metavar="REVISION", help="also measure this git revision's functions")
    args = parser.parse_args(argv if argv is not None else [])
    functions = {name: code for name, code in FUNCTIONS.items() if (ROOT / "functions" / name).is_dir()}
    variants: dict[str, str | tuple[str, Path]] = {f"function {name}": code for name, code in functions.items()}
    variants.update(tracing_variants())
    with contextlib.ExitStack() as stack:
        if args.before:
            old = stack.enter_context(checked_out(args.before))
            for name, code in functions.items():
                if (old / "functions" / name).is_dir():
                    variants[f"function {name} at {args.before}"] = (code, old)
        results = measure(variants, max(7, args.rounds))
    print(f"init import minus a bare interpreter, median of {max(7, args.rounds)} interleaved rounds (goal < 300 ms)")
    print("| what is imported | ms |")
    print("| --- | --- |")
    for name, ms in results.items():
        print(f"| {name} | {ms:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])

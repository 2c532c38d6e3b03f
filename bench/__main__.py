"""Runs every benchmark module of this package that has a `main()`, or those named on the command line, one after
the other in this process: each finds the environment as the one before it found it."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench
from bench.database import module_environment


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        runner = getattr(module, "main", None)
        if runner is None:
            continue
        print(f"\n== bench.{name} ==", flush=True)
        with module_environment():
            runner()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

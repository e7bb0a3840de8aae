"""`python -m benchmarks [--quick] [--out FILE] [--postgres URL] [--profile]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from benchmarks.report import summary
from benchmarks.run import Options, run

DEFAULT_OUT = Path("benchmarks/results/report.json")
PG_ENV = "BRIDGE_TEST_POSTGRES_URL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI smoke size (under a minute)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON report")
    parser.add_argument(
        "--postgres",
        help="PostgreSQL URL (default: $BRIDGE_TEST_POSTGRES_URL, except with --quick); "
        "a schema is created and dropped",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the conversations run")
    parser.add_argument("--conversations", type=int, help="contacts in the conversations run")
    parser.add_argument("--memory-contacts", type=int, help="contacts stored for the memory run")
    parser.add_argument(
        "--postgres-memory-contacts", type=int, help="contacts stored for PostgreSQL's memory run"
    )
    parser.add_argument("--workdir", type=Path, help="keep databases and logs here")
    args = parser.parse_args(argv)
    # --quick stays SQLite-only (under a minute) unless PostgreSQL is asked for explicitly.
    postgres = args.postgres or (None if args.quick else os.environ.get(PG_ENV) or None)
    options = Options.defaults(args.quick, postgres, args.profile)
    overrides = {
        "conversations": args.conversations,
        "memory_contacts": args.memory_contacts,
        "postgres_memory_contacts": args.postgres_memory_contacts,
        "workdir": args.workdir,
    }
    options = Options(**{**vars(options), **{k: v for k, v in overrides.items() if v is not None}})
    report = asyncio.run(run(options))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(summary(report))
    print(f"report: {args.out}")
    return 0 if report["targets"]["lost_duplicated_out_of_order"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

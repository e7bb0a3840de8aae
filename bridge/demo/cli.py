"""`bridge demo` (the checklist on a local stack) and `bridge sim` (the simulators alone)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bridge.demo.checklist import Checklist
from bridge.demo.report import Report
from bridge.demo.stack import start_stack
from bridge.sim.runner import run_forever, start_simulators


def add_commands(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the whole system locally with simulators and play the checklist"
    )
    demo.add_argument(
        "--keep", action="store_true", help="leave everything running and print the URLs"
    )
    demo.set_defaults(run=run_demo_command)
    sim = subparsers.add_parser("sim", help="start the simulators alone and print their URLs")
    sim.add_argument("--host", default="127.0.0.1")
    sim.set_defaults(run=run_sim_command)


def run_demo_command(args: argparse.Namespace) -> int:
    # Quiet logs: the report is the output.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(demo_main(keep=args.keep, out=sys.stdout))
    return 0


async def demo_main(*, keep: bool, out: Any) -> int:
    with tempfile.TemporaryDirectory(prefix="bridge-demo-") as workdir:
        print(f"Starting simulators and the bridge (SQLite in {workdir}) …", file=out, flush=True)
        stack = await start_stack(Path(workdir))
        report = Report(out)
        try:
            async with httpx.AsyncClient(timeout=30, follow_redirects=True) as http:
                await Checklist(stack, http, report).run()
            report.summary()
            if keep:
                print(f"\nStaff portal   {stack.bridge_url}/hub/", file=out)
                for name, url in stack.sims.urls.items():
                    print(f"{name:<14} {url}", file=out)
                print(
                    f"Admin token    {stack.settings.bridge_admin_token.get_secret_value()}",
                    file=out,
                )
                print("\nRunning; press Ctrl-C to stop.", file=out, flush=True)
                await asyncio.Event().wait()
        finally:
            await stack.aclose()
    return 0 if report.all_passed else 1


def run_sim_command(args: argparse.Namespace) -> int:
    async def main() -> None:
        await run_forever(await start_simulators(host=args.host))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0

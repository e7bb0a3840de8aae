"""A real process, kill -9 midway through 2,000 webhooks, restart: nothing lost, nothing doubled.

The test plays Evolution: 50 contacts post their messages one after another (per contact in
order, contacts in parallel); a message that got no 200 is posted again after the restart, as
Evolution's retries would. Then every accepted message must have been processed exactly once
(the test flow's transcript line) and delivered at least once with a stable key, the first
deliveries of each contact in posting order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bridge.state.repository import open_repository
from tests.delivery.conftest import EVOLUTION_SECRET
from tests.delivery.harness import RecordingReceiver, probe_key, wa_message, wait_until
from tests.factories import env_for

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 50
PER_CONTACT = 40
KILL_AFTER = 1_000
HEADERS = {"X-Webhook-Secret": EVOLUTION_SECRET}


def phone(contact: int) -> str:
    return f"2783{contact:07d}"


def wa_id(contact: int, n: int) -> str:
    return f"KILL-{contact:02d}-{n:03d}"


class Probe:
    """One run of the probe service as a child process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.delivery.probe_server"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), 30)
        assert line.startswith(b"PORT "), (line, self.log_path.read_text()[-2000:])
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"

        async def ready() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"{self.base_url}/readyz") as response,
                ):
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(ready, timeout_s=30, what="the probe service to be ready")

    async def outbox_empty(self) -> bool:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.base_url}/readyz") as response,
        ):
            body = await response.json()
        detail: str = body["checks"]["outbox"]["detail"]
        return detail.startswith("pending=0 ")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)
        self._close_pipe()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                await self.kill()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


class Evolution:
    """Posts each contact's messages in order; stops a contact at its first failed post."""

    def __init__(self) -> None:
        self.next_index = [0] * CONTACTS
        self.accepted = 0
        self.enough = asyncio.Event()

    async def post_contact(self, session: aiohttp.ClientSession, url: str, contact: int) -> None:
        while self.next_index[contact] < PER_CONTACT:
            n = self.next_index[contact]
            document = wa_message("inst-demo", phone(contact), wa_id(contact, n), f"m{n}")
            try:
                async with session.post(url, json=document, headers=HEADERS) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                return  # no answer: Evolution retries this message later
            if status != 200:
                return
            self.next_index[contact] += 1
            self.accepted += 1
            if self.accepted >= KILL_AFTER:
                self.enough.set()

    async def post_all(self, base_url: str) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=CONTACTS)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            url = f"{base_url}/webhooks/evolution"
            await asyncio.gather(*(self.post_contact(session, url, c) for c in range(CONTACTS)))


@pytest.mark.slow
async def test_kill_9_midway_loses_nothing_and_doubles_nothing(
    tmp_path: Path, receiver: RecordingReceiver, receiver_url: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'probe.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PROBE_"))},
        **env_for(bridge_database_url=database_url),
        "PROBE_RECEIVER_URL": receiver_url,
    }
    evolution = Evolution()
    probe = Probe(env, tmp_path / "probe.log")
    try:
        await probe.start()
        posting = asyncio.create_task(evolution.post_all(probe.base_url))
        await asyncio.wait(
            {posting, asyncio.create_task(evolution.enough.wait())},
            timeout=60,
            return_when=asyncio.FIRST_COMPLETED,
        )
        assert evolution.enough.is_set(), "the service was too slow to reach the kill point"
        await probe.kill()
        await posting
        accepted_before_kill = evolution.accepted
        assert KILL_AFTER <= accepted_before_kill < CONTACTS * PER_CONTACT

        await probe.start()  # restart on the same SQLite file
        await evolution.post_all(probe.base_url)  # the retries of everything not yet answered
        assert evolution.next_index == [PER_CONTACT] * CONTACTS

        expected = {
            c: [probe_key(f"inst-demo:{wa_id(c, n)}") for n in range(PER_CONTACT)]
            for c in range(CONTACTS)
        }
        every_key = {key for keys in expected.values() for key in keys}
        await wait_until(
            lambda: every_key <= receiver.effects.keys(), timeout_s=60, what="every delivery"
        )
        await wait_until(probe.outbox_empty, what="every item to be marked delivered")
    finally:
        await probe.stop()

    repo = open_repository(database_url)
    await repo.start()
    try:
        db = repo.database
        assert await db.fetchval("SELECT COUNT(*) FROM inbound_event") == CONTACTS * PER_CONTACT
        assert (
            await db.fetchval("SELECT COUNT(*) FROM inbound_event WHERE status <> 'processed'") == 0
        )
        assert await db.fetchval("SELECT COUNT(*) FROM outbox") == CONTACTS * PER_CONTACT
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'") == 0
        attempts = {
            row["dedupe_key"]: int(row["attempts"])
            for row in await db.fetch("SELECT dedupe_key, attempts FROM outbox")
        }
        for contact in range(CONTACTS):
            contact_id = int(
                await db.fetchval(
                    "SELECT id FROM contacts WHERE wa_jid = $1", f"{phone(contact)}@s.whatsapp.net"
                )
            )
            # Processed exactly once each, in posting order.
            transcript = await repo.list_transcript(contact_id)
            assert [t.body for t in transcript] == [
                f"inst-demo:{wa_id(contact, n)}" for n in range(PER_CONTACT)
            ], contact
            # Delivered, first deliveries in posting order.
            assert receiver.first_delivery_order(contact_id) == expected[contact], contact
    finally:
        await repo.close()

    assert set(receiver.called_keys(status=200)) == every_key
    # Duplicates only where the item really was sent again (a crash between call and mark).
    for key, times in Counter(receiver.called_keys()).items():
        assert attempts[key] >= times, key

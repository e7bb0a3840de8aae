"""The baseline: a bare aiohttp handler that parses the webhook JSON and commits one SQLite row.

Same durability settings and the same access as the bridge's SQLite backend (WAL,
synchronous=NORMAL, one connection used on the event-loop thread), so the ratio compares the
bridge's own work with the cheapest way to do the same commit. Run as its own process:
`python -m benchmarks.limit --port N --db PATH`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import AsyncIterator

from aiohttp import web

DB_KEY = web.AppKey("limit_db", sqlite3.Connection)


async def handle_webhook(request: web.Request) -> web.Response:
    document = json.loads(await request.read())
    data = document.get("data") or {}
    external_id = f"{document.get('instance')}:{(data.get('key') or {}).get('id')}"
    db = request.app[DB_KEY]
    with db:  # one transaction, committed before the answer
        cursor = db.execute(
            "INSERT OR IGNORE INTO events (external_id, payload) VALUES (?, ?)",
            (external_id, json.dumps(document)),
        )
    return web.json_response({"ok": True, "stored": cursor.rowcount == 1})


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_limit_app(db_path: str) -> web.Application:
    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        db = sqlite3.connect(db_path)
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
            db.execute(pragma)
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                "external_id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL)"
            )
        app[DB_KEY] = db
        yield
        db.close()

    app = web.Application()
    app.cleanup_ctx.append(database_ctx)
    app.router.add_post("/webhooks/evolution", handle_webhook)
    app.router.add_get("/healthz", handle_healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.limit")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    web.run_app(
        create_limit_app(args.db), host="127.0.0.1", port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()

"""Mailcow API simulator: mailboxes, aliases, domains, password policy; HTTP 200 + danger bodies."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bridge.sim.faults import FaultInjector, FaultSpec, install_faults

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIB = 1048576


@dataclass
class MailcowState:
    api_key: str
    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    mailboxes: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[int, dict[str, Any]] = field(default_factory=dict)
    policy: dict[str, str] = field(
        default_factory=lambda: {
            "length": "6",
            "chars": "0",
            "special_chars": "0",
            "lowerupper": "0",
            "numbers": "0",
        }
    )
    calls: list[dict[str, Any]] = field(default_factory=list)
    faults: FaultInjector | None = None

    def add_domain(
        self, name: str, *, mailboxes: int = 10, maxquota_mib: int = 10240, quota_mib: int = 10240
    ) -> None:
        self.domains[name] = {
            "domain_name": name,
            "active": 1,
            "max_num_mboxes_for_domain": mailboxes,
            "max_quota_for_mbox": maxquota_mib * MIB,
            "max_quota_for_domain": quota_mib * MIB,
            "def_new_mailbox_quota": 3072 * MIB,
            "description": "",
        }

    def password_ok(self, password: str) -> bool:
        pol = {k: int(v) for k, v in self.policy.items()}
        checks = [
            len(password.encode()) >= pol["length"],
            not pol["chars"] or re.search(r"[a-zA-Z]", password),
            not pol["special_chars"] or re.search(r"[^a-zA-Z\d]", password),
            not pol["numbers"] or re.search(r"\d", password),
            not pol["lowerupper"]
            or (re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)),
        ]
        return bool(password) and all(checks)


STATE_KEY = web.AppKey("mailcow_state", MailcowState)


def _masked(body: dict[str, Any]) -> dict[str, Any]:
    return {k: ("*" if k in ("password", "password2") else v) for k, v in body.items()}


def entry(kind: str, log: list[Any], msg: Any) -> dict[str, Any]:
    return {"type": kind, "log": log, "msg": msg}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def add_mailbox(state: MailcowState, body: dict[str, Any]) -> list[dict[str, Any]]:
    log = ["mailbox", "add", "mailbox", _masked(body), None]
    local = str(body.get("local_part", "")).strip().lower()
    domain = str(body.get("domain", "")).strip().lower()
    addr = f"{local}@{domain}"
    if not local or not EMAIL_RE.match(addr):
        return [entry("danger", log, "mailbox_invalid")]
    if domain not in state.domains:
        return [entry("danger", log, "access_denied")]
    if addr in state.mailboxes:
        return [entry("danger", log, ["object_exists", addr])]
    if any(a["address"] == addr for a in state.aliases.values()):
        return [entry("danger", log, ["is_alias", addr])]
    password = str(body.get("password", ""))
    pw_log = ["password_check", None, None]
    if not state.password_ok(password):
        return [entry("danger", pw_log, "password_complexity")]
    if password != str(body.get("password2", "")):
        return [entry("danger", pw_log, "password_mismatch")]
    dom = state.domains[domain]
    count = sum(1 for m in state.mailboxes.values() if m["domain"] == domain)
    if count >= dom["max_num_mboxes_for_domain"]:
        return [
            entry("danger", log, ["max_mailbox_exceeded", count, dom["max_num_mboxes_for_domain"]])
        ]
    quota = int(body.get("quota", 0)) * MIB
    if quota > dom["max_quota_for_mbox"]:
        return [entry("danger", log, ["mailbox_quota_exceeded", dom["max_quota_for_mbox"] // MIB])]
    state.mailboxes[addr] = {
        "username": addr,
        "local_part": local,
        "domain": domain,
        "name": str(body.get("name", "")).strip("<>"),
        "active": str(body.get("active", "1")),
        "active_int": int(body.get("active", 1)),
        "authsource": body.get("authsource", "mailcow"),
        "quota": quota,
        "quota_used": 0,
        "messages": 0,
        "percent_in_use": 0,
        "created": _now(),
        "modified": None,
        "tags": list(body.get("tags", [])),
        "attributes": {
            "force_pw_update": str(body.get("force_pw_update", "0")),
            "tls_enforce_in": str(body.get("tls_enforce_in", "0")),
            "tls_enforce_out": str(body.get("tls_enforce_out", "0")),
            "passwd_update": _now(),
        },
        "_password": password,
    }
    alias_id = max(state.aliases, default=0) + 1
    state.aliases[alias_id] = {
        "id": alias_id,
        "address": addr,
        "goto": addr,
        "domain": domain,
        "active": 1,
        "is_catch_all": 0,
    }
    rl = entry(
        "success",
        ["ratelimit", "edit", "mailbox", {"object": addr, "rl_frame": "s", "rl_value": ""}],
        ["rl_saved", addr],
    )
    return [rl, entry("success", log, ["mailbox_added", addr])]


def edit_mailbox(state: MailcowState, body: dict[str, Any]) -> Any:
    items, attr = body.get("items"), body.get("attr")
    if not isinstance(items, list) or not isinstance(attr, dict):
        return {"type": "error", "msg": "Cannot find attributes in post data"}
    log = ["mailbox", "edit", "mailbox", {"username": items, **_masked(attr)}, None]
    out = []
    for item in items:
        box = state.mailboxes.get(str(item))
        if box is None:
            out.append(entry("danger", log, "access_denied"))
            continue
        if "password" in attr:
            pw_log = ["password_check", None, None]
            if not state.password_ok(str(attr["password"])):
                out.append(entry("danger", pw_log, "password_complexity"))
                continue
            if attr["password"] != attr.get("password2"):
                out.append(entry("danger", pw_log, "password_mismatch"))
                continue
            box["_password"] = str(attr["password"])
            box["attributes"]["passwd_update"] = _now()
        if "active" in attr:
            box["active"], box["active_int"] = str(attr["active"]), int(attr["active"])
        for name in ("name", "force_pw_update"):
            if name in attr:
                target = box if name == "name" else box["attributes"]
                target[name] = str(attr[name])
        box["modified"] = _now()
        out.append(entry("success", log, ["mailbox_modified", item]))
    return out


def delete_mailbox(state: MailcowState, body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else []
    log = ["mailbox", "delete", "mailbox", {"username": items}, None]
    if not items:
        return [entry("danger", log, "access_denied")]
    out = []
    for item in items:
        if state.mailboxes.pop(str(item), None) is None:
            out.append(entry("danger", log, "access_denied"))
            continue
        state.aliases = {i: a for i, a in state.aliases.items() if a["goto"] != item}
        out.append(entry("success", log, ["mailbox_removed", item]))
    return out


def _public(box: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in box.items() if not k.startswith("_")}


def get_items(state: MailcowState, category: str, item_id: str) -> Any:
    if category == "passwordpolicy":
        return dict(state.policy)
    source: dict[Any, dict[str, Any]] = state.mailboxes
    if category == "alias":
        source = state.aliases
    elif category == "domain":
        source = state.domains
    rows = [_public(r) for r in source.values()]
    if item_id == "all":
        return rows or {}  # Mailcow prints {} for an empty list
    for key, row in source.items():
        if str(key) == item_id or row.get("address") == item_id:
            return _public(row)
    return {}


def _auth(request: web.Request) -> web.Response | None:
    given = re.sub(r"[^a-zA-Z0-9-]", "", request.headers.get("X-API-Key", ""))
    if not given:
        # No key and no session: Mailcow answers reads with an empty 200 body.
        if request.method == "GET":
            return web.Response(status=200, text="")
        return web.json_response({"type": "error", "msg": "authentication failed"}, status=401)
    if not hmac.compare_digest(given, request.app[STATE_KEY].api_key):
        return web.json_response({"type": "error", "msg": "authentication failed"}, status=401)
    return None


async def api(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    action, category = request.match_info["action"], request.match_info["category"]
    item_id = request.match_info.get("item_id", "all")
    routes = {
        "get": {"mailbox", "alias", "domain", "passwordpolicy"},
        "add": {"mailbox"},
        "edit": {"mailbox"},
        "delete": {"mailbox"},
    }
    if category not in routes.get(action, set()):
        return web.json_response({"type": "error", "msg": "route not found"}, status=404)
    if (action == "get") != (request.method == "GET"):
        allowed = "GET" if action == "get" else "POST"
        return web.json_response(
            {"type": "error", "msg": f"only {allowed} method is allowed"}, status=405
        )
    if (denied := _auth(request)) is not None:
        return denied
    state.calls.append({"action": action, "category": category, "item_id": item_id})
    if action == "get":
        return web.json_response(get_items(state, category, item_id))
    try:
        body = await request.json() if request.can_read_body else None
    except ValueError:
        return web.json_response(
            {"type": "error", "msg": "Request body doesn't contain valid json!"}, status=400
        )
    if action == "add":
        if not isinstance(body, dict):
            return web.json_response(
                {"type": "error", "msg": "Cannot find attributes in post data"}
            )
        return web.json_response(add_mailbox(state, body))
    if action == "edit":
        return web.json_response(edit_mailbox(state, body if isinstance(body, dict) else {}))
    return web.json_response(delete_mailbox(state, body))


async def sim_faults(request: web.Request) -> web.Response:
    """`{"count": N, "kind": "500"|"danger"}`: the next N API calls fail that way."""
    body = await request.json()
    kind = str(body.get("kind", "500"))
    danger = [entry("danger", ["mailbox", "add", "mailbox", {}, None], ["redis_error", "sim"])]
    spec = FaultSpec(
        count=int(body.get("count", 1)),
        status=200 if kind == "danger" else 500,
        body=danger if kind == "danger" else {"type": "error", "msg": "sim"},
        path_prefix="/api/",
    )
    faults = request.app[STATE_KEY].faults
    assert faults is not None
    faults.add(spec)
    return web.json_response(faults.snapshot())


async def sim_state(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response(
        {
            "mailboxes": [_public(m) for m in state.mailboxes.values()],
            "aliases": list(state.aliases.values()),
            "domains": list(state.domains.values()),
            "calls": state.calls,
        }
    )


def create_mailcow_app(
    *,
    api_key: str,
    domains: tuple[str, ...] = ("mmallelectronics.co.za",),
    policy: dict[str, str] | None = None,
) -> web.Application:
    app = web.Application()
    state = MailcowState(api_key=api_key)
    for domain in domains:
        state.add_domain(domain)
    if policy:
        state.policy.update(policy)
    app[STATE_KEY] = state
    state.faults = install_faults(app)
    app.router.add_route("*", "/api/v1/{action}/{category}", api)
    app.router.add_route("*", "/api/v1/{action}/{category}/{item_id}", api)
    app.router.add_post("/_sim/mailcow/faults", sim_faults)
    app.router.add_get("/_sim/mailcow/state", sim_state)
    return app

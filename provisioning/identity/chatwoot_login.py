"""Getting a fresh one-time Chatwoot login URL for a staff member (never cached or reused)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from bridge.clients.chatwoot import ChatwootClient
from bridge.clients.chatwoot_platform import ChatwootPlatformClient
from bridge.state.database import Database
from provisioning.identity.accounts import StaffAccount, remember_cw_user_id


async def resolve_cw_user_id(
    db: Database, chatwoot: ChatwootClient, account: StaffAccount
) -> int | None:
    """The Chatwoot user id recorded at provisioning, else the account agent with this email.

    The platform API has no look-up by email (and its "create" would create a user), so the
    fallback reads the account's agent list; a match is recorded for next time.
    """
    if account.cw_user_id is not None:
        return account.cw_user_id
    wanted = account.email.lower()
    for agent in await chatwoot.list_agents():
        if agent.email is not None and agent.email.lower() == wanted:
            await remember_cw_user_id(db, account.username, agent.id)
            return agent.id
    return None


def with_deep_link(url: str, account_id: int, conversation_id: int | None) -> str:
    """Append Chatwoot's SSO landing parameters to the login URL, keeping what it has."""
    params: dict[str, str] = {"sso_account_id": str(account_id)}
    if conversation_id is not None:
        params["sso_conversation_id"] = str(conversation_id)
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def fresh_login_url(
    platform: ChatwootPlatformClient,
    cw_user_id: int,
    *,
    account_id: int,
    conversation_id: int | None,
) -> str:
    """A new single-use URL on every call: Chatwoot's token inside is valid for 5 minutes."""
    url = await platform.get_login_url(cw_user_id)
    return with_deep_link(url, account_id, conversation_id)

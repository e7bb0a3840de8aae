"""Contact identity across WhatsApp's phone JIDs and LIDs: find, create, and merge contacts."""

from __future__ import annotations

import logging
from typing import Final

from bridge.clock import Clock
from bridge.errors import PayloadError
from bridge.ids import InstanceName, WaJid
from bridge.state.contacts import CONTACT_COLUMNS, ContactStore, contact_from_row
from bridge.state.database import Database
from bridge.state.records import Contact, ContactState, Transition

log = logging.getLogger(__name__)

PHONE_SUFFIX: Final = "@s.whatsapp.net"
LID_SUFFIX: Final = "@lid"
# When two records of one person merge, the further-along conversation wins, so the bot never
# starts talking over an agent who already has the customer.
_PROGRESS: Final = {
    ContactState.BOT_HANDLED: 0,
    ContactState.TRIAGED: 1,
    ContactState.AGENT_HANDLED: 2,
}
# Rows that follow a contact through a merge (transcripts are renumbered separately).
_OWNED_TABLES: Final = (
    "contact_aliases",
    "message_links",
    "inbound_event",
    "outbox",
    "transitions",
)
_INSERT_CONTACT: Final = (
    "INSERT INTO contacts (instance, wa_jid, wa_phone_jid, wa_lid, state, push_name, "  # noqa: S608
    "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
    f"RETURNING {CONTACT_COLUMNS}"
)
_PREFIXED_COLUMNS: Final = ", ".join("c." + c.strip() for c in CONTACT_COLUMNS.split(","))


def _check(jid: WaJid | None, suffix: str, what: str) -> None:
    if jid is not None and not jid.endswith(suffix):
        raise PayloadError(f"{what} must end with {suffix}, got {jid!r}", path=what)


class IdentityStore(ContactStore):
    """`resolve_contact`: one contact per person, whichever JIDs WhatsApp shows us."""

    _db: Database
    _clock: Clock

    async def resolve_contact(
        self,
        instance: InstanceName,
        phone_jid: WaJid | None,
        lid: WaJid | None,
        push_name: str | None = None,
    ) -> Contact:
        """Find or create the contact known by `phone_jid` and/or `lid`.

        When the two JIDs belong to two different contacts, they are merged into the older one.
        Call it before taking the contact's lock (it locks the instance's identity itself, and on
        PostgreSQL a merge also takes both contacts' locks).
        """
        _check(phone_jid, PHONE_SUFFIX, "phone_jid")
        _check(lid, LID_SUFFIX, "lid")
        jids = [jid for jid in (phone_jid, lid) if jid is not None]
        if not jids:
            raise PayloadError("a contact needs a phone JID or a LID", path="jid")
        found = await self._lookup(instance, jids)
        current = self._settled(found, phone_jid, lid, push_name)
        if current is not None:  # fast path: nothing to write, no lock needed
            return current
        # Read again under the lock, unless the caller's transaction already excluded writers.
        stable = self._db.holds_write_lock()
        async with self._db.transaction(lock=f"identity:{instance}"):
            if not stable:
                found = await self._lookup(instance, jids)
            contacts = {c.id: c for c in found.values()}
            if not contacts:
                contact = await self._create(instance, phone_jid, lid, push_name)
                await self._add_aliases(contact, jids)  # the new row already holds the rest
                return contact
            if len(contacts) == 1:
                contact = next(iter(contacts.values()))
            else:
                older, newer = sorted(contacts.values(), key=lambda c: (c.created_at_ms, c.id))
                contact = await self._merge(older, newer)
            await self._complete(contact, jids, phone_jid, lid, push_name)
            return contact

    async def _lookup(self, instance: InstanceName, jids: list[WaJid]) -> dict[WaJid, Contact]:
        found: dict[WaJid, Contact] = {}
        for jid in jids:
            row = await self._db.fetchrow(
                f"SELECT {_PREFIXED_COLUMNS} "  # noqa: S608
                "FROM contact_aliases a JOIN contacts c ON c.id = a.contact_id "
                "WHERE a.instance = $1 AND a.jid = $2",
                instance,
                jid,
            )
            if row is not None:
                found[jid] = contact_from_row(row)
        return found

    @staticmethod
    def _settled(
        found: dict[WaJid, Contact],
        phone_jid: WaJid | None,
        lid: WaJid | None,
        push_name: str | None,
    ) -> Contact | None:
        ids = {c.id for c in found.values()}
        if len(ids) != 1 or len(found) != (phone_jid is not None) + (lid is not None):
            return None
        contact = next(iter(found.values()))
        if phone_jid is not None and contact.wa_phone_jid != phone_jid:
            return None
        if lid is not None and contact.wa_lid != lid:
            return None
        if push_name and contact.push_name != push_name:
            return None
        return contact

    async def _create(
        self,
        instance: InstanceName,
        phone_jid: WaJid | None,
        lid: WaJid | None,
        push_name: str | None,
    ) -> Contact:
        now = self._clock.now_ms()
        primary = phone_jid if phone_jid is not None else lid
        assert primary is not None
        row = await self._db.fetchrow(
            _INSERT_CONTACT,
            instance,
            primary,
            phone_jid,
            lid,
            ContactState.BOT_HANDLED.value,
            push_name,
            now,
        )
        assert row is not None
        # DEBUG: one per new customer is hot-path volume; the admin API shows every contact.
        log.debug("contact created contact=%s/%s id=%s", instance, primary, row["id"])
        return contact_from_row(row)

    async def _complete(
        self,
        contact: Contact,
        jids: list[WaJid],
        phone_jid: WaJid | None,
        lid: WaJid | None,
        push_name: str | None,
    ) -> None:
        """Add missing aliases and fill in the JIDs/name the contact row does not know yet."""
        now = self._clock.now_ms()
        await self._add_aliases(contact, jids)
        contact.wa_phone_jid = phone_jid or contact.wa_phone_jid
        contact.wa_lid = lid or contact.wa_lid
        # Reply to the phone JID when known (sendable everywhere); LID-only contacts use the LID.
        contact.wa_jid = contact.wa_phone_jid or contact.wa_lid or contact.wa_jid
        contact.push_name = push_name or contact.push_name
        contact.updated_at_ms = now
        await self._db.execute(
            "UPDATE contacts SET wa_jid = $2, wa_phone_jid = $3, wa_lid = $4, push_name = $5, "
            "updated_at_ms = $6 WHERE id = $1",
            contact.id,
            contact.wa_jid,
            contact.wa_phone_jid,
            contact.wa_lid,
            contact.push_name,
            now,
        )

    async def _add_aliases(self, contact: Contact, jids: list[WaJid]) -> None:
        now = self._clock.now_ms()
        for jid in jids:
            await self._db.execute(
                "INSERT INTO contact_aliases (instance, jid, contact_id, created_at_ms) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                contact.instance,
                jid,
                contact.id,
                now,
            )

    async def _merge(self, keep: Contact, drop: Contact) -> Contact:
        """Fold `drop` into `keep`: every row of `drop` moves over, then `drop` is deleted."""
        async with (
            self._db.transaction(lock=min(keep.id, drop.id)),
            self._db.transaction(lock=max(keep.id, drop.id)),
        ):
            # Re-read under the contact locks: a flow may have changed either one meanwhile.
            keep = await self._reload(keep.id)
            drop = await self._reload(drop.id)
            for table in _OWNED_TABLES:
                await self._db.execute(
                    f"UPDATE {table} SET contact_id = $1 WHERE contact_id = $2",  # noqa: S608
                    keep.id,
                    drop.id,
                )
            await self._renumber_transcripts(keep.id, drop.id)
            from_state = keep.state
            lead = drop if _PROGRESS[drop.state] > _PROGRESS[keep.state] else keep
            keep.state, keep.department = lead.state, lead.department
            keep.cw_conversation_id = lead.cw_conversation_id or keep.cw_conversation_id
            keep.cw_inbox_id = lead.cw_inbox_id or keep.cw_inbox_id
            keep.cw_contact_id = keep.cw_contact_id or drop.cw_contact_id
            keep.tb_session_id = lead.tb_session_id or keep.tb_session_id
            keep.tb_session_at_ms = lead.tb_session_at_ms or keep.tb_session_at_ms
            keep.bot_paused = keep.bot_paused or drop.bot_paused
            keep.wa_phone_jid = keep.wa_phone_jid or drop.wa_phone_jid
            keep.wa_lid = keep.wa_lid or drop.wa_lid
            keep.push_name = keep.push_name or drop.push_name
            await self._db.execute("DELETE FROM contacts WHERE id = $1", drop.id)
            await self.save_contact(keep)
            await self.record_transition(
                Transition(
                    keep.id,
                    from_state,
                    keep.state,
                    "merge",
                    f"merged contact {drop.id} ({drop.wa_phone_jid or '-'} {drop.wa_lid or '-'})",
                    self._clock.now_ms(),
                )
            )
            log.info("contacts merged keep=%s drop=%s", keep.id, drop.id)
            return keep

    async def _reload(self, contact_id: int) -> Contact:
        contact = await self.get_contact(contact_id)
        assert contact is not None, "contacts are deleted only by a merge under this lock"
        return contact

    async def _renumber_transcripts(self, keep_id: int, drop_id: int) -> None:
        """Interleave both transcripts by message time and renumber seq 1..n."""
        # Negative ids as temporary seqs keep UNIQUE(contact_id, seq) satisfied meanwhile.
        await self._db.execute(
            "UPDATE transcripts SET seq = -id, contact_id = $1 WHERE contact_id IN ($1, $2)",
            keep_id,
            drop_id,
        )
        rows = await self._db.fetch(
            "SELECT id FROM transcripts WHERE contact_id = $1 "
            "ORDER BY COALESCE(wa_timestamp_ms, created_at_ms), id",
            keep_id,
        )
        for seq, row in enumerate(rows, start=1):
            await self._db.execute(
                "UPDATE transcripts SET seq = $2 WHERE id = $1", int(row["id"]), seq
            )

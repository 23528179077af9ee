"""The outbox on Redis: pages (table `alerts`), other actions (table `outbox`) and edits in place.

A port of the SQLite outbox: the same rows as JSON documents (one hash per table), the same
leases, fencing tokens and outcomes. What SQLite's WHERE clauses find, keys kept beside the
rows find here, rewritten with the row in the same unit (`_save` diffs them), so the sender's
calls cost what is due, never what was ever sent:

- `alerts:due`, `outbox:due` sorted sets: rows waiting to be sent (pages pending, retry or
  held; messages pending or retry), member JSON [platform, chat, id] so listing the due
  chats reads no row. Score: when the row falls due, the later of `next_at` and the end of
  its lease (`lease_until` + 1 µs, as a lease holds until strictly after it); -inf when
  neither is set. `score` keeps microseconds exact, so `score <= score(now)` is "due".
- `alerts:dest:<[platform, chat]>`, `outbox:dest:<...>` sorted sets: the same per chat,
  member the id, for `claim` (which reads only the first due row, by id).
- `alerts:due_dest`, `outbox:due_dest` sorted sets: each chat with waiting rows, member JSON
  [platform, chat], at the lowest score of its `dest` set, kept by the commit's script
  (`zmin`) whenever that set changes. Listing the due chats reads one entry per chat: a
  backlog of pages held back by Telegram's per-chat pace costs nothing per look.
- `alerts:status:<status>`, `outbox:status:<status>` sets: ids by status.
- `alerts:incident:<id>`, `outbox:incident:<id>` sets: ids by incident; `outbox:loose` sorted
  set: messages of no incident by `created_at` (both for the retention purge).
- `alerts:page` hash: JSON [incident, officer, kind, step] -> id; `outbox:dedupe` hash:
  dedupe key -> id (the unique keys).
- `alerts:leases`, `outbox:leases` hashes: id -> `lease_owner`, while one is set.
- `alerts:editable` hash: incident id -> JSON ids of its alerts an edit can reach (sent, with
  a `delivery_ref`, not inside a digest); `alerts:edit_retry` sorted set: sent alerts with an
  `edit_next_at`, by the later of it and `edit_lease_until` (for `next_due`).
- `send_log:officer:<officer>` sorted sets (member "<at>#<n>", by time) and the set
  `send_log:officers`: the officers' rate windows.

Edits: the incidents module adds an incident to `incidents:changed` whenever its version
moves while it has an editable alert (one with none has nothing to edit). Only editable
alerts of changed incidents are looked at, against each incident's version and state from
`incidents:shown` (its row, with the escalation chain, is not read); an alert is due for
an edit under SQLite's conditions. An incident leaves the set once none of its editable
alerts is behind its version: a claim sweeps the set, settling an edit rechecks its
incident, and a page delivered behind its incident's version puts the incident back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from botkit.storage.records import (
    AlertRow,
    Cancelled,
    Destination,
    DigestWork,
    EditWork,
    Failed,
    Held,
    Lease,
    MessageWork,
    NewMessage,
    NewPage,
    Outcome,
    PageWork,
    Redirected,
    Retry,
    Sent,
    Work,
)
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts
from botkit.storage.redis.incidents import INCIDENTS, editable_key, shown_key

WINDOW = timedelta(minutes=1)
ALERTS = "alerts"
OUTBOX = "outbox"

Row = dict[str, Any]
# One place a row is indexed: ("z" sorted set | "s" set | "h" hash, key, member or field).
Entry = tuple[str, str, str]

# A lease holds while `lease_until >= now`: the row is free one microsecond after it.
_TICK = timedelta(microseconds=1)
# The score of a row neither scheduled nor leased: due whatever the time.
_AT_ONCE = float("-inf")
_WAITING = {ALERTS: ("pending", "retry", "held"), OUTBOX: ("pending", "retry")}
_CHAT = {ALERTS: "contact", OUTBOX: "chat_id"}
_COUNTED = ("pending", "retry", "held", "failed")
_PAGE_OUTCOMES: tuple[type, ...] = (Sent, Retry, Failed, Held, Cancelled, Redirected)
_MESSAGE_OUTCOMES: tuple[type, ...] = (Sent, Retry, Failed, Cancelled)
_EDIT_OUTCOMES: tuple[type, ...] = (Sent, Retry, Failed, Cancelled)
_MESSAGE_KEYS = (
    "id",
    "dedupe_key",
    "platform",
    "chat_id",
    "action",
    "status",
    "attempts",
    "ambiguous",
    "delivery_ref",
    "last_error",
)


# -- key names ---------------------------------------------------------------------------------
def _changed(u: Unit) -> str:
    return u.key("incidents", "changed")


def _officers(u: Unit) -> str:
    return u.key("send_log", "officers")


def _window(u: Unit, officer_id: str) -> str:
    return u.key("send_log", "officer", officer_id)


def _chat(platform: str, chat_id: str) -> str:
    return json.dumps([platform, chat_id], ensure_ascii=False)


# -- rows and their indexes --------------------------------------------------------------------
def _alert(row: Row) -> AlertRow:
    return AlertRow(
        row["id"],
        row["incident_id"],
        row["officer_id"],
        row["platform"],
        row["contact"],
        row["kind"],
        row["step"],
        row["status"],
        row["delivery_ref"],
        row["attempts"],
        row["ambiguous"],
        row["last_error"],
    )


def _due_score(row: Row) -> float:
    times = []
    if row["next_at"] is not None:
        times.append(dt(row["next_at"]))
    if row["lease_until"] is not None:
        times.append(dt(row["lease_until"]) + _TICK)
    return score(max(times)) if times else _AT_ONCE


def _is_due(table: str, row: Row, now: datetime) -> bool:
    """SQLite's `_PAGE_DUE` / `_MESSAGE_DUE`: the row has the last word over the index."""
    return (
        row["status"] in _WAITING[table]
        and (row["next_at"] is None or dt(row["next_at"]) <= now)
        and (row["lease_until"] is None or dt(row["lease_until"]) < now)
    )


def _page_key(row: Row) -> str:
    return json.dumps([row["incident_id"], row["officer_id"], row["kind"], row["step"]])


def _editable(row: Row | None) -> bool:
    return (
        row is not None
        and row["status"] == "sent"
        and row["delivery_ref"] is not None
        and not row["via_digest"]
    )


def _entries(u: Unit, table: str, row: Row | None) -> dict[Entry, Any]:
    """Every index entry of the row, with its score or value."""
    if row is None:
        return {}
    rid = str(row["id"])
    out: dict[Entry, Any] = {("s", u.key(table, "status", row["status"]), rid): ""}
    if table == ALERTS:
        out[("h", u.key(table, "page"), _page_key(row))] = rid
        out[("s", u.key(table, "incident", row["incident_id"]), rid)] = ""
        if row["status"] == "sent" and row["edit_next_at"] is not None:
            out[("z", u.key(table, "edit_retry"), rid)] = score(_edit_retry_at(row))
    else:
        out[("h", u.key(table, "dedupe"), row["dedupe_key"])] = rid
        if row["incident_id"] is None:
            out[("z", u.key(table, "loose"), rid)] = score(dt(row["created_at"]))
        else:
            out[("s", u.key(table, "incident", row["incident_id"]), rid)] = ""
    if row["status"] in _WAITING[table]:
        due, chat = _due_score(row), [row["platform"], row[_CHAT[table]]]
        out[("z", u.key(table, "due"), json.dumps([*chat, row["id"]], ensure_ascii=False))] = due
        out[("z", u.key(table, "dest", _chat(*chat)), rid)] = due
    if row["lease_owner"] is not None:
        out[("h", u.key(table, "leases"), rid)] = row["lease_owner"]
    return out


def _reindex(u: Unit, old: dict[Entry, Any], new: dict[Entry, Any]) -> None:
    for kind, key, member in old.keys() - new.keys():
        if kind == "z":
            u.zrem(key, member)
        elif kind == "s":
            u.srem(key, member)
        else:
            u.hdel(key, member)
    for (kind, key, member), value in new.items():
        if (kind, key, member) in old and old[(kind, key, member)] == value:
            continue
        if kind == "z":
            u.zadd(key, member, value)
        elif kind == "s":
            u.sadd(key, member)
        else:
            u.hset(key, member, value)


async def _mark_editable(u: Unit, incident_id: int, alert_id: int, editable: bool) -> None:
    field = str(incident_id)
    raw = await u.hget(editable_key(u), field)
    ids = set(json.loads(raw)) if raw else set()
    if editable:
        ids.add(alert_id)
    else:
        ids.discard(alert_id)
    if ids:
        u.hset(editable_key(u), field, json.dumps(sorted(ids)))
    else:
        u.hdel(editable_key(u), field)


async def _save(u: Unit, table: str, old: Row | None, new: Row | None) -> None:
    """Write (or, with `new` None, delete) a row and move its index entries along."""
    if new is not None:
        u.put(table, new["id"], new)
    elif old is not None:
        u.drop(table, old["id"])
    before, after = _entries(u, table, old), _entries(u, table, new)
    _reindex(u, before, after)
    moved = {key for (kind, key, _), _ in before.items() ^ after.items() if kind == "z"}
    for chat in {_chat(r["platform"], r[_CHAT[table]]) for r in (old, new) if r is not None}:
        queue = u.key(table, "dest", chat)
        if queue in moved:
            u.after("zmin", queue, u.key(table, "due_dest"), chat)
    if table == ALERTS and _editable(old) != _editable(new):
        row = new if new is not None else old
        assert row is not None
        await _mark_editable(u, row["incident_id"], row["id"], _editable(new))


async def _rows_in(u: Unit, table: str, keys: list[str]) -> list[Row]:
    ids: set[str] = set()
    for key in keys:
        ids |= await u.smembers(key)
    return await u.rows(table, sorted(ids, key=int))


# -- edits -------------------------------------------------------------------------------------
def _edit_retry_at(row: Row) -> datetime:
    at = dt(row["edit_next_at"])
    return max(at, dt(row["edit_lease_until"])) if row["edit_lease_until"] else at


async def _shown(u: Unit, incident_ids: list[str]) -> list[Row | None]:
    """Each incident's version and state (None: no such incident), from the compact index;
    an incident written before the index existed is read whole."""
    shown = await u.hmget(shown_key(u), incident_ids)
    older = [i for i, s in zip(incident_ids, shown, strict=True) if s is None]
    rows = dict(zip(older, await u.hmget(u.key("incidents"), older), strict=True)) if older else {}
    found: list[Row | None] = []
    for incident_id, raw in zip(incident_ids, shown, strict=True):
        if raw is not None:
            version, state = json.loads(raw)
            found.append({"id": int(incident_id), "version": version, "state": state})
        else:
            row = rows[incident_id]
            found.append(json.loads(row) if row is not None else None)
    return found


async def _behind(u: Unit, incident_ids: list[str]) -> tuple[list[tuple[Row, Row]], list[str]]:
    """(alert, incident) for every editable alert showing less than its incident's version,
    and the incidents that have none: no edit is due for them until their next version.
    The incident is its version and state: all an alert shows of it."""
    if not incident_ids:
        return [], []
    shown = shown_key(u)
    await u.prefetch(
        [(editable_key(u), i) for i in incident_ids] + [(shown, i) for i in incident_ids]
    )
    editable = dict(zip(incident_ids, await u.hmget(editable_key(u), incident_ids), strict=True))
    waiting = [i for i in incident_ids if editable[i] is not None]
    known: dict[int, Row] = {}
    alert_ids: list[int] = []
    for incident_id, incident in zip(waiting, await _shown(u, waiting), strict=True):
        if incident is not None:
            known[int(incident["id"])] = incident
            alert_ids += json.loads(editable[incident_id] or "[]")
    found = []
    for alert in await u.rows(ALERTS, alert_ids):
        incident = known.get(int(alert["incident_id"]))
        if incident and _editable(alert) and alert["rendered_version"] < int(incident["version"]):
            found.append((alert, incident))
    busy = {str(alert["incident_id"]) for alert, _ in found}
    return found, [i for i in incident_ids if i not in busy]


async def _changed_behind(u: Unit) -> tuple[list[tuple[Row, Row]], list[str]]:
    return await _behind(u, sorted(await u.smembers(_changed(u)), key=int))


async def _swept(u: Unit) -> list[tuple[Row, Row]]:
    """The alerts behind, with the changed incidents that have none taken out of the set
    (in a write: a look cannot)."""
    behind, idle = await _changed_behind(u)
    for incident_id in idle:
        u.srem(_changed(u), incident_id)
    return behind


async def _prepare(u: Unit) -> None:
    await _rebuild_due_chats(u)
    # Versions before the set kept only incidents with something to edit left every other
    # incident in it, and only an edit's claim swept them: each look read them all again.
    await _swept(u)


def _edit_due(alert: Row, incident: Row, now: datetime, edit_before: datetime) -> bool:
    """SQLite's `_EDIT_DUE` for an alert already known to be behind: a change of state at
    once, more occurrences at most once per interval; not while retrying or leased."""
    return (
        (
            alert["rendered_state"] != incident["state"]
            or alert["rendered_at"] is None
            or dt(alert["rendered_at"]) <= edit_before
        )
        and (alert["edit_next_at"] is None or dt(alert["edit_next_at"]) <= now)
        and (alert["edit_lease_until"] is None or dt(alert["edit_lease_until"]) < now)
    )


async def _recheck(u: Unit, incident_id: int) -> None:
    """Keep the incident in the changed set exactly while one of its alerts is behind."""
    behind, _ = await _behind(u, [str(incident_id)])
    if behind:
        u.sadd(_changed(u), str(incident_id))
    else:
        u.srem(_changed(u), str(incident_id))


# -- queuing -----------------------------------------------------------------------------------
async def _insert_page(
    u: Unit, p: NewPage, at: datetime, status: str, error: str | None
) -> int | None:
    row = {"incident_id": p.incident_id, "officer_id": p.officer_id, "kind": p.kind, "step": p.step}
    page, seq = (u.key(ALERTS, "page"), _page_key(row)), u.key("seq", ALERTS)
    if u.drew(u.key("seq", INCIDENTS), p.incident_id):
        u.fresh(*page)  # an incident opened in this unit has no page but this unit's
    await u.prefetch([page], [seq])  # one round trip for the check and the number
    if await u.hget(*page) is not None:
        return None
    alert_id = await u.incr(seq)
    row |= {
        "id": alert_id,
        "platform": p.platform,
        "contact": p.contact,
        "status": status,
        "delivery_ref": None,
        "attempts": 0,
        "last_error": error,
        "created_at": ts(at),
        "sent_at": None,
        "next_at": None,
        "lease_owner": None,
        "lease_until": None,
        "lease_token": 0,
        "ambiguous": 0,
        "inflight": 0,
        "rendered_version": 0,
        "rendered_state": None,
        "rendered_at": None,
        "edit_next_at": None,
        "edit_lease_until": None,
        "edit_token": 0,
        "via_digest": 0,
    }
    await _save(u, ALERTS, None, row)
    return alert_id


async def _enqueue_page(u: Unit, p: NewPage, at: datetime) -> int | None:
    return await _insert_page(u, p, at, "pending", None)


async def _enqueue_unreachable(u: Unit, p: NewPage, at: datetime, error: str) -> None:
    await _insert_page(u, p, at, "failed", error)


async def _enqueue_message(u: Unit, m: NewMessage, at: datetime) -> bool:
    seq = u.key("seq", OUTBOX)
    await u.prefetch([(u.key(OUTBOX, "dedupe"), m.dedupe_key)], [seq])
    if await u.hget(u.key(OUTBOX, "dedupe"), m.dedupe_key) is not None:
        return False
    message_id = await u.incr(seq)
    row = {
        "id": message_id,
        "dedupe_key": m.dedupe_key,
        "platform": m.platform,
        "chat_id": m.chat_id,
        "action": m.action,
        "incident_id": m.incident_id,
        "status": "pending",
        "attempts": 0,
        "ambiguous": 0,
        "inflight": 0,
        "next_at": None,
        "lease_owner": None,
        "lease_until": None,
        "lease_token": 0,
        "delivery_ref": None,
        "last_error": None,
        "created_at": ts(at),
        "sent_at": None,
        "erase": m.erase,
    }
    await _save(u, OUTBOX, None, row)
    return True


# -- claiming ----------------------------------------------------------------------------------
async def _due_chats(u: Unit, table: str, now: datetime) -> set[Destination]:
    found = set()
    for member, _ in await u.zrange(u.key(table, "due_dest"), high=score(now)):
        platform, chat_id = json.loads(member)
        found.add(Destination(platform, chat_id))
    return found


async def _rebuild_due_chats(u: Unit) -> None:
    """`due_dest` from the rows' own `due` index: data written before it existed, or after a
    crash of a version that did not keep it, lists every chat again."""
    for table in (ALERTS, OUTBOX):
        first: dict[str, float] = {}
        for member, value in await u.zrange(u.key(table, "due")):  # by score: first wins
            platform, chat_id, _id = json.loads(member)
            first.setdefault(_chat(platform, chat_id), value)
        u.delete(u.key(table, "due_dest"))
        for chat, value in first.items():
            u.zadd(u.key(table, "due_dest"), chat, value)


async def _due_destinations(
    u: Unit, now: datetime, edit_before: datetime, limit: int
) -> list[Destination]:
    # The chats due and the changed incidents in one round trip: every worker looks after
    # each batch that committed something.
    due = [(u.key(table, "due_dest"), float("-inf"), score(now)) for table in (ALERTS, OUTBOX)]
    await u.prefetch(sets=[_changed(u)], ranges=due)
    found = await _due_chats(u, ALERTS, now) | await _due_chats(u, OUTBOX, now)
    behind, _ = await _changed_behind(u)
    for alert, incident in behind:
        if _edit_due(alert, incident, now, edit_before):
            found.add(Destination(alert["platform"], alert["contact"]))
    # In SQLite's order: its UNION hands the chats out sorted.
    return sorted(found, key=lambda d: (d.platform, d.chat_id))[:limit]


def _fits(table: str, row: Row, d: Destination, now: datetime) -> bool:
    return (
        row["platform"] == d.platform
        and row[_CHAT[table]] == d.chat_id
        and _is_due(table, row, now)
    )


async def _first_due(
    u: Unit, table: str, d: Destination, now: datetime
) -> tuple[Row | None, list[str]]:
    """The chat's first row due now (by id), and the ids of all its due rows, by id.

    Only the first row is read: the index knows which rows are due, and a busy chat may
    have many waiting behind it.
    """
    key = u.key(table, "dest", _chat(d.platform, d.chat_id))
    ids = sorted((m for m, _ in await u.zrange(key, high=score(now))), key=int)
    for row_id in ids:
        row = await u.row(table, row_id)
        if row is not None and _fits(table, row, d, now):
            return row, ids
    return None, ids


async def _take_lease(
    u: Unit, table: str, row: Row, owner: str, until: datetime
) -> tuple[int, int]:
    """Lease the row; returns (fencing token, ambiguous sends so far).

    A row still marked in flight was claimed before and never settled: its holder died (or
    stalled past the lease) mid-send, so the platform may have it already. That counts as an
    ambiguous send, and the next try says so to the officer.
    """
    new = row | {
        "ambiguous": row["ambiguous"] + row["inflight"],
        "inflight": 1,
        "lease_owner": owner,
        "lease_until": ts(until),
        "lease_token": row["lease_token"] + 1,
    }
    await _save(u, table, row, new)
    return new["lease_token"], new["ambiguous"]


async def _page_work(u: Unit, row: Row, owner: str, until: datetime) -> PageWork:
    token, ambiguous = await _take_lease(u, ALERTS, row, owner, until)
    return PageWork(
        Lease(ALERTS, row["id"], token),
        incident_id=row["incident_id"],
        officer_id=row["officer_id"],
        platform=row["platform"],
        contact=row["contact"],
        kind=row["kind"],
        step=row["step"],
        status=row["status"],
        attempts=row["attempts"],
        ambiguous=ambiguous,
    )


async def _claim_held(
    u: Unit,
    d: Destination,
    ids: list[str],
    officer_id: str,
    owner: str,
    now: datetime,
    until: datetime,
) -> Work:
    """Every held page of the officer at this chat, together: they go out as one digest."""
    held = [
        r
        for r in await u.rows(ALERTS, ids)
        if r["officer_id"] == officer_id and r["status"] == "held" and _fits(ALERTS, r, d, now)
    ]
    works = [await _page_work(u, r, owner, until) for r in held]
    return works[0] if len(works) == 1 else DigestWork(tuple(works))


async def _claim_edit(
    u: Unit, d: Destination, now: datetime, until: datetime, edit_before: datetime
) -> EditWork | None:
    behind = await _swept(u)
    due = [
        alert
        for alert, incident in behind
        if alert["platform"] == d.platform
        and alert["contact"] == d.chat_id
        and _edit_due(alert, incident, now, edit_before)
    ]
    if not due:
        return None
    old = min(due, key=lambda a: int(a["id"]))
    new = old | {"edit_lease_until": ts(until), "edit_token": old["edit_token"] + 1}
    await _save(u, ALERTS, old, new)
    return EditWork(
        Lease(ALERTS, new["id"], new["edit_token"]),
        new["incident_id"],
        new["officer_id"],
        new["platform"],
        new["contact"],
        new["kind"],
        new["step"],
        new["delivery_ref"],
    )


async def _claim(
    u: Unit, d: Destination, owner: str, now: datetime, until: datetime, edit_before: datetime
) -> Work | None:
    page, ids = await _first_due(u, ALERTS, d, now)
    if page is not None:
        if page["status"] == "held":
            return await _claim_held(u, d, ids, page["officer_id"], owner, now, until)
        return await _page_work(u, page, owner, until)
    m, _ = await _first_due(u, OUTBOX, d, now)
    if m is not None:
        token, ambiguous = await _take_lease(u, OUTBOX, m, owner, until)
        return MessageWork(
            Lease(OUTBOX, m["id"], token),
            m["platform"],
            m["chat_id"],
            m["action"],
            m["attempts"],
            ambiguous,
        )
    return await _claim_edit(u, d, now, until, edit_before)


# -- settling ----------------------------------------------------------------------------------
def _retry(row: Row, o: Retry) -> Row:
    return {
        "status": "retry",
        "next_at": ts(o.at),
        "last_error": o.error,
        "attempts": row["attempts"] + 1,
        "ambiguous": row["ambiguous"] + int(o.ambiguous),
    }


def _page_outcome(row: Row, o: Outcome, at: str) -> Row:
    tried = row["attempts"] + 1
    if isinstance(o, Sent):
        return {
            "status": "sent",
            "delivery_ref": o.ref,
            "sent_at": at,
            "attempts": tried,
            "rendered_version": o.version,
            "rendered_state": o.state,
            "rendered_at": at,
        }
    if isinstance(o, Retry):
        return _retry(row, o)
    if isinstance(o, Failed):
        return {"status": "failed", "last_error": o.error, "attempts": tried}
    if isinstance(o, Held):
        return {"status": "held", "next_at": ts(o.until)}
    if isinstance(o, Cancelled):
        return {"status": "cancelled", "last_error": o.reason}
    assert isinstance(o, Redirected)
    return {
        "status": "pending",
        "platform": o.platform,
        "contact": o.contact,
        "next_at": None,
        "last_error": o.error,
        "attempts": tried,
    }


def _message_outcome(row: Row, o: Outcome, at: str) -> Row:
    tried = row["attempts"] + 1
    if isinstance(o, Retry):
        return _retry(row, o)
    final: Row
    if isinstance(o, Sent):
        final = {"status": "sent", "delivery_ref": o.ref, "sent_at": at, "attempts": tried}
    elif isinstance(o, Failed):
        final = {"status": "failed", "last_error": o.error, "attempts": tried}
    else:
        assert isinstance(o, Cancelled)
        final = {"status": "cancelled", "last_error": o.reason}
    if row.get("erase"):
        # A resident's message: once it has its outcome, its row keeps the status only.
        final |= {"chat_id": "-", "action": {"erased": True}}
    return final


async def _edit_outcome(u: Unit, row: Row, o: Outcome, at: str) -> Row:
    if isinstance(o, Sent):
        return {
            "rendered_version": o.version,
            "rendered_state": o.state,
            "rendered_at": at,
            "edit_next_at": None,
        }
    if isinstance(o, Retry):
        return {"edit_next_at": ts(o.at)}
    # Given up on this version: the next change of the incident tries again.
    incident = await u.row("incidents", row["incident_id"])
    given_up: Row = {"edit_next_at": None}
    return given_up | ({"rendered_version": int(incident["version"])} if incident else {})


async def _settle(
    u: Unit, work: Work, outcome: Outcome, now: datetime, digest: bool = False
) -> bool:
    if isinstance(work, DigestWork):
        return all([await _settle(u, page, outcome, now, digest=True) for page in work.pages])
    if isinstance(work, EditWork):
        allowed, token = _EDIT_OUTCOMES, "edit_token"
    else:
        allowed = _PAGE_OUTCOMES if isinstance(work, PageWork) else _MESSAGE_OUTCOMES
        token = "lease_token"
    if type(outcome) not in allowed:
        raise ValueError(f"{type(outcome).__name__} does not apply to {type(work).__name__}")
    lease, at = work.lease, ts(now)
    old = await u.row(lease.table, lease.id)
    if old is None or old[token] != lease.token:
        return False
    if isinstance(work, EditWork):
        changes = await _edit_outcome(u, old, outcome, at) | {"edit_lease_until": None}
    else:
        fields = _page_outcome if isinstance(work, PageWork) else _message_outcome
        changes = fields(old, outcome, at) | {
            "lease_owner": None,
            "lease_until": None,
            "inflight": 0,
        }
    if digest and isinstance(outcome, Sent):
        changes["via_digest"] = 1
    new = old | changes
    await _save(u, lease.table, old, new)
    if isinstance(work, EditWork) or (lease.table == ALERTS and _editable(new)):
        await _recheck(u, new["incident_id"])
    return True


# -- the officers' rate windows ----------------------------------------------------------------
def _logged_at(member: str) -> datetime:
    return dt(member.rsplit("#", 1)[0])


async def _reserve_send(
    u: Unit, officer_id: str, now: datetime, per_minute: int
) -> datetime | None:
    key, start = _window(u, officer_id), now - WINDOW
    members = await u.zrange(key, low=score(start))
    sent = sorted(t for t in (_logged_at(m) for m, _ in members) if t > start)
    if len(sent) >= per_minute:
        return sent[len(sent) - per_minute] + WINDOW
    # Members must differ: number the sends logged at this very time (all in the window).
    u.zadd(key, f"{ts(now)}#{sent.count(now)}", score(now))
    u.sadd(_officers(u), officer_id)
    return None


async def _purge_send_log(u: Unit, before: datetime) -> int:
    purged = 0
    for officer_id in sorted(await u.smembers(_officers(u))):
        key = _window(u, officer_id)
        old = [m for m, _ in await u.zrange(key, high=score(before)) if _logged_at(m) < before]
        for member in old:
            u.zrem(key, member)
        purged += len(old)
        if old and not await u.zrange(key):
            u.srem(_officers(u), officer_id)
    return purged


# -- reading -----------------------------------------------------------------------------------
def _next_at(row: Row) -> datetime:
    """SQLite's `MAX(COALESCE(next_at, created_at), COALESCE(lease_until, ''))`."""
    at = dt(row["next_at"] or row["created_at"])
    return max(at, dt(row["lease_until"])) if row["lease_until"] else at


async def _first_waiting(u: Unit, table: str) -> list[datetime]:
    key = u.key(table, "due")
    # Rows due at any time count from when they were queued; of the rest, the first by score.
    at_once = [m for m, _ in await u.zrange(key, high=_AT_ONCE)]
    first = await u.conn.call(u.conn.text.zrangebyscore, key, "(-inf", "+inf", start=0, num=1)
    rows = await u.rows(table, [json.loads(m)[2] for m in [*at_once, *first]])
    return [_next_at(r) for r in rows]


async def _next_due(u: Unit) -> datetime | None:
    # Pure reads of committed state (`next_due` is never asked inside a transaction).
    found = await _first_waiting(u, ALERTS) + await _first_waiting(u, OUTBOX)
    first = await u.conn.call(u.conn.text.zrange, u.key(ALERTS, "edit_retry"), 0, 0)
    found += [_edit_retry_at(r) for r in await u.rows(ALERTS, first)]
    return min(found, default=None)


async def _release_held(u: Unit, now: datetime) -> int:
    rows = await _rows_in(u, ALERTS, [u.key(ALERTS, "status", "held")])
    for row in rows:
        await _save(u, ALERTS, row, row | {"next_at": ts(now)})
    return len(rows)


async def _alerts(u: Unit, incident_id: int | None, statuses: list[str] | None) -> list[AlertRow]:
    # No row here is ever 'superseded' (SQLite's migration made those): nothing to leave out.
    if incident_id is not None:
        rows = await _rows_in(u, ALERTS, [u.key(ALERTS, "incident", incident_id)])
    elif statuses is not None:
        rows = await _rows_in(u, ALERTS, [u.key(ALERTS, "status", s) for s in statuses])
    else:
        rows = await u.all_rows(ALERTS)
    return [_alert(r) for r in rows if statuses is None or r["status"] in statuses]


async def _step_pages(u: Unit, incident_id: int, step: int) -> list[AlertRow]:
    rows = await _rows_in(u, ALERTS, [u.key(ALERTS, "incident", incident_id)])
    return [_alert(r) for r in rows if r["step"] == step and r["kind"] in ("alert", "escalated")]


async def _messages(u: Unit, statuses: list[str] | None) -> list[dict[str, Any]]:
    if statuses is None:
        rows = await u.all_rows(OUTBOX)
    else:
        rows = await _rows_in(u, OUTBOX, [u.key(OUTBOX, "status", s) for s in statuses])
    return [{k: r[k] for k in _MESSAGE_KEYS} for r in rows]


async def _message_states(u: Unit, keys: list[str]) -> dict[str, tuple[str, str | None]]:
    if not keys:
        return {}
    ids = await u.hmget(u.key(OUTBOX, "dedupe"), keys)
    rows = await u.rows(OUTBOX, [i for i in ids if i is not None])
    return {r["dedupe_key"]: (r["status"], r["last_error"]) for r in rows}


# -- used by the store, inside its unit ----------------------------------------------------------
async def _drop_all(u: Unit, table: str, rows: list[Row]) -> int:
    for row in rows:
        await _save(u, table, row, None)
    return len(rows)


async def purge(
    u: Unit, incident_ids: list[int], before: datetime, keys_before: datetime
) -> dict[str, int]:
    """Alerts and messages of the purged incidents, messages of no incident queued before
    `before`, and rate-window entries before `keys_before`."""
    alerts = messages = 0
    for incident_id in incident_ids:
        alerts += await _drop_all(
            u, ALERTS, await _rows_in(u, ALERTS, [u.key(ALERTS, "incident", incident_id)])
        )
        messages += await _drop_all(
            u, OUTBOX, await _rows_in(u, OUTBOX, [u.key(OUTBOX, "incident", incident_id)])
        )
        u.srem(_changed(u), str(incident_id))
    loose = [m for m, _ in await u.zrange(u.key(OUTBOX, "loose"), high=score(before))]
    old = [r for r in await u.rows(OUTBOX, loose) if dt(r["created_at"]) < before]
    messages += await _drop_all(u, OUTBOX, old)
    return {"alerts": alerts, "outbox": messages, "send_log": await _purge_send_log(u, keys_before)}


async def status(u: Unit, now: datetime) -> tuple[dict[str, int], int]:
    """(alerts and messages by status, those worth reporting; alerts behind their incident)."""
    counts: dict[str, int] = {}
    for name in _COUNTED:
        # Counts of committed state: `status` is a read on its own, never inside a unit's writes.
        found = 0
        for table in (ALERTS, OUTBOX):
            found += int(await u.conn.call(u.conn.text.scard, u.key(table, "status", name)))
        if found:
            counts[name] = found
    behind, _ = await _changed_behind(u)
    return counts, len(behind)


async def lease_owners(u: Unit) -> set[str]:
    owners: set[str] = set()
    for table in (ALERTS, OUTBOX):
        owners |= set((await u.hgetall(u.key(table, "leases"))).values())
    return owners


async def release_leases(u: Unit, owners: list[str]) -> int:
    """Free the rows of dead owners; their in-flight mark stays (the next try is ambiguous)."""
    released = 0
    for table in (ALERTS, OUTBOX):
        held = await u.hgetall(u.key(table, "leases"))
        ids = [rid for rid, owner in held.items() if owner in owners]
        for row in await u.rows(table, sorted(ids, key=int)):
            await _save(u, table, row, row | {"lease_owner": None, "lease_until": None})
            released += 1
    return released


class RedisOutbox:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def prepare(self) -> None:
        await self._r.write(_prepare)

    async def enqueue_page(self, page: NewPage, at: datetime) -> int | None:
        return await self._r.write(_enqueue_page, page, at)

    async def enqueue_unreachable(self, page: NewPage, at: datetime, error: str) -> None:
        await self._r.write(_enqueue_unreachable, page, at, error)

    async def enqueue_message(self, message: NewMessage, at: datetime) -> bool:
        return await self._r.write(_enqueue_message, message, at)

    async def due_destinations(
        self, now: datetime, limit: int, edit_interval: timedelta = timedelta(0)
    ) -> list[Destination]:
        return await self._r.read(_due_destinations, now, now - edit_interval, limit)

    async def claim(
        self,
        destination: Destination,
        owner: str,
        now: datetime,
        lease: timedelta,
        edit_interval: timedelta,
    ) -> Work | None:
        return await self._r.write(
            _claim, destination, owner, now, now + lease, now - edit_interval
        )

    async def settle(self, work: Work, outcome: Outcome, now: datetime) -> bool:
        return await self._r.write(_settle, work, outcome, now)

    async def reserve_send(
        self, officer_id: str, now: datetime, per_minute: int
    ) -> datetime | None:
        return await self._r.write(_reserve_send, officer_id, now, per_minute)

    async def next_due(self) -> datetime | None:
        return await self._r.read(_next_due)

    async def release_held(self, now: datetime) -> int:
        return await self._r.write(_release_held, now)

    async def alerts(
        self, incident_id: int | None = None, statuses: list[str] | None = None
    ) -> list[AlertRow]:
        return await self._r.read(_alerts, incident_id, statuses)

    async def step_pages(self, incident_id: int, step: int) -> list[AlertRow]:
        return await self._r.read(_step_pages, incident_id, step)

    async def messages(self, statuses: list[str] | None = None) -> list[dict[str, Any]]:
        return await self._r.read(_messages, statuses)

    async def message_states(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        return await self._r.read(_message_states, list(keys))

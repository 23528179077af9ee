"""Flagged messages, incidents, occurrences, officers' actions and known claims (Redis).

Rows are JSON documents, one hash per table (`flagged_messages`, `incidents`,
`officer_actions`, `claims` by claim id). What SQLite finds through an index is found here
through keys kept beside the rows, so nothing a message does scans a table:

- `flagged_messages:by_key` hash, message key -> flagged id
- `flagged_messages:received` sorted set, flagged ids by time received (retention)
- `flagged_messages:incident:N` set, ids of the flagged messages whose incident is N
- `incidents:unresolved` set, ids of the incidents not resolved
- `incidents:content:K` set, ids of the incidents of content key K not resolved
- `incidents:last_seen` sorted set, incident ids by time last seen (retention)
- `incidents:groups` hash, incident id -> distinct (platform, chat) among its occurrences
- `incidents:shown` hash, incident id -> JSON [version, state]: what its alerts show of it,
  for the sender's look at changed incidents (which then reads no row and no chain)
- `occurrences:N` hash, flagged id -> one occurrence of incident N
- `occurrences:N:groups` hash, JSON [platform, chat] -> flagged ids of N seen in that chat
- `officer_actions:incident:N` set, ids of the actions taken on incident N
- `claims:seq` sorted set, claim ids by sequence; `claims:incident:N` set, claims of N
- `review_labels` hash, flagged id -> a reviewer's label (JSON); `review_labels:at` sorted
  set, flagged ids by time labelled (see `reviews`: they go with their flagged message)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botkit.domain import Incident, IncidentState
from botkit.domain.incident import OPEN_STATES
from botkit.sandbox import SANDBOX
from botkit.storage.records import FlaggedRecord, IncidentDetail, NewIncident, Occurrence
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts
from botkit.storage.redis.timers import cancel_pending, incidents_with_timers

INCIDENTS = "incidents"
FLAGGED = "flagged_messages"
ACTIONS = "officer_actions"
CLAIMS = "claims"
LABELS = "review_labels"

Row = dict[str, Any]

_RESOLVED = IncidentState.RESOLVED.value
_VERDICTS = (IncidentState.CONFIRMED.value, IncidentState.FALSE_POSITIVE.value)


# -- key names ---------------------------------------------------------------------------------
def _by_key(u: Unit) -> str:
    return u.key(FLAGGED, "by_key")


def _received(u: Unit) -> str:
    return u.key(FLAGGED, "received")


def _flagged_of(u: Unit, incident_id: int) -> str:
    return u.key(FLAGGED, "incident", incident_id)


def _unresolved(u: Unit) -> str:
    return u.key(INCIDENTS, "unresolved")


def _content(u: Unit, content_key: str) -> str:
    return u.key(INCIDENTS, "content", content_key)


def _last_seen(u: Unit) -> str:
    return u.key(INCIDENTS, "last_seen")


def _group_counts(u: Unit) -> str:
    return u.key(INCIDENTS, "groups")


def _changed(u: Unit) -> str:
    return u.key(INCIDENTS, "changed")


def editable_key(u: Unit) -> str:
    """The outbox's `alerts:editable` hash (incident id -> its alerts an edit can reach):
    read here, when a new version decides whether the incident joins `incidents:changed`."""
    return u.key("alerts", "editable")


def shown_key(u: Unit) -> str:
    """Read by `outbox` to tell which alerts are behind their incident."""
    return u.key(INCIDENTS, "shown")


def _occurrences_of(u: Unit, incident_id: int) -> str:
    return u.key("occurrences", incident_id)


def _groups_of(u: Unit, incident_id: int) -> str:
    return u.key("occurrences", incident_id, "groups")


def _actions_of(u: Unit, incident_id: int) -> str:
    return u.key(ACTIONS, "incident", incident_id)


def _claim_seq(u: Unit) -> str:
    return u.key(CLAIMS, "seq")


def _claims_of(u: Unit, incident_id: int) -> str:
    return u.key(CLAIMS, "incident", incident_id)


# Read by `reviews`, which lists flagged messages by these keys.
def received_key(u: Unit) -> str:
    return _received(u)


def flagged_of_key(u: Unit, incident_id: int) -> str:
    return _flagged_of(u, incident_id)


def by_key_key(u: Unit) -> str:
    return _by_key(u)


def labels_key(u: Unit) -> str:
    return u.key(LABELS)


def labelled_at_key(u: Unit) -> str:
    return u.key(LABELS, "at")


def _group(platform: str, chat_id: str) -> str:
    return json.dumps([platform, chat_id], ensure_ascii=False)


def _by_id(ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=int)


async def _members(u: Unit, key: str) -> list[str]:
    # A list, not the set itself: `Unit.smembers`'s `set[str]` is spelled inside a class
    # with a `set` method, which mypy cannot read as the builtin.
    return sorted(await u.smembers(key))


# -- rows to records ---------------------------------------------------------------------------
def _incident(row: Row, groups: int) -> Incident:
    return Incident(
        id=int(row["id"]),
        content_key=row["content_key"],
        category=row["category"],
        jurisdiction=int(row["jurisdiction"]),
        unit=row["unit"],
        state=IncidentState(row["state"]),
        opened_at=dt(row["opened_at"]),
        last_seen=dt(row["last_seen"]),
        occurrences=int(row["occurrences"]),
        groups=max(groups, 1),
        excerpt=row["excerpt"],
        score=float(row["score"]),
        claim_id=row["claim_id"],
    )


def _detail(row: Row, groups: int) -> IncidentDetail:
    return IncidentDetail(
        incident=_incident(row, groups),
        copy_units=tuple(row["copy_units"]),
        chain=row["chain"],
        step=int(row["step"]),
        fence=int(row["fence"]),
        exhausted=bool(row["exhausted"]),
        claim_text=row["claim_text"],
        version=int(row["version"]),
        reminders=int(row["reminders"]),
    )


async def _groups(u: Unit, rows: list[Row]) -> list[int]:
    """The distinct chats of each incident, kept as a count so no occurrence is read."""
    counts = await u.hmget(_group_counts(u), [str(r["id"]) for r in rows])
    return [int(c) if c is not None else 0 for c in counts]


async def _incidents(u: Unit, rows: list[Row]) -> list[Incident]:
    return [_incident(r, g) for r, g in zip(rows, await _groups(u, rows), strict=True)]


async def _details(u: Unit, rows: list[Row]) -> list[IncidentDetail]:
    return [_detail(r, g) for r, g in zip(rows, await _groups(u, rows), strict=True)]


async def _required(u: Unit, incident_id: int) -> Row:
    row = await u.row(INCIDENTS, incident_id)
    if row is None:
        # SQLite fails here too (a foreign key, a missing row): a bug in the caller.
        raise LookupError(f"no incident {incident_id}")
    return row


async def get_incident(u: Unit, incident_id: int) -> Incident:
    [incident] = await _incidents(u, [await _required(u, incident_id)])
    return incident


async def _bump(u: Unit, row: Row) -> None:
    """A new version: delivered alerts are edited to show it (the outbox watches the set)."""
    row["version"] = int(row["version"]) + 1
    # Only an incident with an editable alert joins the set. One whose pages are not
    # delivered yet would stay in it (nothing sweeps an incident with nothing to edit), and
    # every look of the sender would read it again: the looks grew with every incident
    # since the last purge. Its page, once delivered, puts it in the set if it is behind
    # by then. The read is checked at commit, and settling a page reads `shown`, which this
    # writes: a bump and a delivery that race cannot both miss the set.
    if await u.hget(editable_key(u), str(row["id"])) is not None:
        u.sadd(_changed(u), str(row["id"]))
    _show(u, row)


def _show(u: Unit, row: Row) -> None:
    # Every change of version or state comes through here or `_open`.
    u.hset(shown_key(u), str(row["id"]), json.dumps([int(row["version"]), row["state"]]))


def _index_state(u: Unit, row: Row) -> None:
    """Only unresolved incidents are looked up by content or counted as open."""
    members = (_unresolved(u), _content(u, row["content_key"]))
    for key in members:
        if row["state"] == _RESOLVED:
            u.srem(key, str(row["id"]))
        else:
            u.sadd(key, str(row["id"]))


# -- flagged messages --------------------------------------------------------------------------
async def _record_flagged(u: Unit, r: FlaggedRecord) -> tuple[int, bool]:
    # Seen before? and its number if not, in one round trip (a redelivery wastes a number).
    await u.prefetch([(_by_key(u), r.message_key)], [u.key("seq", FLAGGED)])
    found = await u.hget(_by_key(u), r.message_key)
    if found is not None:
        return int(found), False
    flagged_id = await u.incr(u.key("seq", FLAGGED))
    u.put(
        FLAGGED,
        flagged_id,
        {
            "id": flagged_id,
            "message_key": r.message_key,
            "platform": r.platform,
            "chat_id": r.chat_id,
            "message_id": r.message_id,
            "sender_hash": r.sender_hash,
            "text_hash": r.text_hash,
            "excerpt": r.excerpt,
            "category": r.category,
            "score": r.score,
            "model_version": r.model_version,
            "evidence": [list(e) for e in r.evidence],
            "received_at": ts(r.received_at),
            "incident_id": None,
        },
    )
    u.hset(_by_key(u), r.message_key, str(flagged_id))
    u.zadd(_received(u), str(flagged_id), score(r.received_at))
    return flagged_id, True


async def _attach_flagged(u: Unit, flagged_id: int, incident_id: int) -> None:
    """The flagged message now belongs to this incident (the last one it was seen in)."""
    row = await u.row(FLAGGED, flagged_id)
    if row is None:
        return
    if row["incident_id"] is not None:
        u.srem(_flagged_of(u, int(row["incident_id"])), str(flagged_id))
    row["incident_id"] = incident_id
    u.put(FLAGGED, flagged_id, row)
    u.sadd(_flagged_of(u, incident_id), str(flagged_id))


async def _forget_flagged(u: Unit, row: Row) -> int:
    """Forget a flagged message and its reviewer's label; returns the labels forgotten."""
    labelled = await u.hget(labels_key(u), str(row["id"])) is not None
    if labelled:
        u.hdel(labels_key(u), str(row["id"]))
        u.zrem(labelled_at_key(u), str(row["id"]))
    u.drop(FLAGGED, row["id"])
    u.hdel(_by_key(u), row["message_key"])
    u.zrem(_received(u), str(row["id"]))
    if row["incident_id"] is not None:
        u.srem(_flagged_of(u, int(row["incident_id"])), str(row["id"]))
    return int(labelled)


# -- incidents ---------------------------------------------------------------------------------
async def _find_open(u: Unit, content_key: str, since: datetime) -> Incident | None:
    # The ids, their rows and their group counts in one round trip (usually one, or none).
    key = _content(u, content_key)
    ids = _by_id(await u.members_with_fields(key, [u.key(INCIDENTS), _group_counts(u)]))
    # Newest first, as SQLite's ORDER BY id DESC LIMIT 1.
    for row in reversed(await u.rows(INCIDENTS, ids)):
        if row["state"] != _RESOLVED and dt(row["last_seen"]) >= since:
            [incident] = await _incidents(u, [row])
            return incident
    return None


async def _open(u: Unit, n: NewIncident) -> Incident:
    # The escalation engine audits a new incident, pages its officer and sets the timer of
    # the next step in the same unit: their numbers are drawn with the incident's, in one
    # round trip instead of four (one not used leaves a gap, which ids may have).
    seqs = [u.key("seq", table) for table in (INCIDENTS, "audit", "alerts", "timers")]
    await u.prefetch(numbers=seqs)
    incident_id = await u.incr(seqs[0])
    # Named after the new number: nothing is there yet, and reading it costs nothing.
    u.fresh(_occurrences_of(u, incident_id))
    u.fresh(_groups_of(u, incident_id))
    u.fresh(_group_counts(u), str(incident_id))
    u.fresh(editable_key(u), str(incident_id))  # no alert of it can have been sent yet
    row: Row = {
        "id": incident_id,
        "content_key": n.content_key,
        "category": n.category,
        "jurisdiction": n.jurisdiction,
        "unit": n.unit,
        "copy_units": list(n.copy_units),
        "state": IncidentState.OPENED.value,
        "opened_at": ts(n.opened_at),
        "last_seen": ts(n.opened_at),
        # Its first occurrence is added next, by the caller, and counts like any other.
        "occurrences": 0,
        "excerpt": n.excerpt,
        "score": n.score,
        "claim_id": n.claim_id,
        "chain": n.chain,
        "step": 0,
        "fence": 0,
        "exhausted": False,
        "claim_text": n.claim_text,
        "version": 1,
        "reminders": 0,
    }
    u.put(INCIDENTS, incident_id, row)
    _show(u, row)
    _index_state(u, row)
    u.zadd(_last_seen(u), str(incident_id), score(n.opened_at))
    return _incident(row, 0)


async def _count_group(u: Unit, incident_id: int, group: str, flagged_id: int) -> None:
    key = _groups_of(u, incident_id)
    raw = await u.hget(key, group)
    members: list[int] = json.loads(raw) if raw is not None else []
    if not members:
        count = await u.hget(_group_counts(u), str(incident_id))
        u.hset(_group_counts(u), str(incident_id), str(int(count or 0) + 1))
    u.hset(key, group, json.dumps([*members, flagged_id]))


async def _drop_occurrence(u: Unit, incident_id: int, flagged_id: int) -> int:
    """Forget one occurrence (its flagged message reached the retention limit)."""
    key = _occurrences_of(u, incident_id)
    raw = await u.hget(key, str(flagged_id))
    if raw is None:
        return 0
    found = json.loads(raw)
    u.hdel(key, str(flagged_id))
    groups, group = _groups_of(u, incident_id), _group(found["platform"], found["chat_id"])
    members = [m for m in json.loads(await u.hget(groups, group) or "[]") if m != flagged_id]
    if members:
        u.hset(groups, group, json.dumps(members))
    else:
        u.hdel(groups, group)
        count = int(await u.hget(_group_counts(u), str(incident_id)) or 1)
        u.hset(_group_counts(u), str(incident_id), str(max(count - 1, 0)))
    return 1


async def _add_occurrence(
    u: Unit,
    incident_id: int,
    flagged_id: int,
    platform: str,
    chat_id: str,
    message_id: str,
    seen_at: datetime,
) -> tuple[Incident, bool]:
    key = _occurrences_of(u, incident_id)
    group = _group(platform, chat_id)
    await u.prefetch(
        [
            (u.key(INCIDENTS), str(incident_id)),
            (key, str(flagged_id)),
            (_groups_of(u, incident_id), group),
            (_group_counts(u), str(incident_id)),
            (editable_key(u), str(incident_id)),
        ]
    )
    row = await _required(u, incident_id)
    # One occurrence per (incident, flagged message): SQLite's primary key.
    if await u.hget(key, str(flagged_id)) is not None:
        return await get_incident(u, incident_id), False
    occurrence = {
        "flagged_message_id": flagged_id,
        "platform": platform,
        "chat_id": chat_id,
        "message_id": message_id,
        "seen_at": ts(seen_at),
        "corrected": False,
    }
    u.hset(key, str(flagged_id), json.dumps(occurrence, ensure_ascii=False))
    await _count_group(u, incident_id, group, flagged_id)
    row["occurrences"] = int(row["occurrences"]) + 1
    if seen_at > dt(row["last_seen"]):
        row["last_seen"] = ts(seen_at)
        u.zadd(_last_seen(u), str(incident_id), score(seen_at))
    await _bump(u, row)
    u.put(INCIDENTS, incident_id, row)
    await _attach_flagged(u, flagged_id, incident_id)
    return await get_incident(u, incident_id), True


async def _get(u: Unit, incident_id: int) -> IncidentDetail | None:
    row = await u.row(INCIDENTS, incident_id)
    if row is None:
        return None
    [detail] = await _details(u, [row])
    return detail


async def _query(
    u: Unit, units: list[str] | None, states: list[IncidentState] | None
) -> list[Incident]:
    wanted = None if states is None else {s.value for s in states}
    rows = [
        r
        for r in await u.all_rows(INCIDENTS)
        if (units is None or r["unit"] in units) and (wanted is None or r["state"] in wanted)
    ]
    return await _incidents(u, rows)


async def _occurrences(u: Unit, incident_id: int) -> list[Occurrence]:
    found = [json.loads(v) for v in (await u.hgetall(_occurrences_of(u, incident_id))).values()]
    found.sort(key=lambda o: (dt(o["seen_at"]), int(o["flagged_message_id"])))
    return [
        Occurrence(o["platform"], o["chat_id"], o["message_id"], dt(o["seen_at"]), o["corrected"])
        for o in found
    ]


async def _evidence(u: Unit, incident_id: int, limit: int) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    ids = _by_id(await u.smembers(_flagged_of(u, incident_id)))[:50]
    for row in await u.rows(FLAGGED, ids):
        for kind, value in row["evidence"]:
            found.setdefault((kind, value), None)
    return list(found)[:limit]


async def _mark_corrected(u: Unit, incident_id: int, platform: str, chat_id: str) -> bool:
    raw = await u.hget(_groups_of(u, incident_id), _group(platform, chat_id))
    if raw is None:
        return False
    key = _occurrences_of(u, incident_id)
    ids = [str(i) for i in json.loads(raw)]
    found = [(i, json.loads(v)) for i, v in zip(ids, await u.hmget(key, ids), strict=True) if v]
    # The group had its one correction already, even if messages came after it.
    if any(o["corrected"] for _, o in found):
        return False
    for flagged_id, occurrence in found:
        occurrence["corrected"] = True
        u.hset(key, flagged_id, json.dumps(occurrence, ensure_ascii=False))
    return bool(found)


async def _transition(
    u: Unit,
    incident_id: int,
    from_state: IncidentState,
    to_state: IncidentState,
    officer_id: str,
    action: str,
    at: datetime,
) -> bool:
    row = await u.row(INCIDENTS, incident_id)
    if row is None or row["state"] != from_state.value:
        return False
    row["state"] = to_state.value
    row["fence"] = int(row["fence"]) + 1
    await _bump(u, row)
    u.put(INCIDENTS, incident_id, row)
    _index_state(u, row)
    action_id = await u.incr(u.key("seq", ACTIONS))
    u.put(
        ACTIONS,
        action_id,
        {
            "id": action_id,
            "incident_id": incident_id,
            "officer_id": officer_id,
            "action": action,
            "from_state": from_state.value,
            "to_state": to_state.value,
            "at": ts(at),
        },
    )
    u.sadd(_actions_of(u, incident_id), str(action_id))
    await cancel_pending(u, incident_id)
    return True


async def _last_actor(u: Unit, incident_id: int) -> str | None:
    ids = _by_id(await _members(u, _actions_of(u, incident_id)))
    if not ids:
        return None
    row = await u.row(ACTIONS, ids[-1])
    return str(row["officer_id"]) if row else None


async def _advance_step(u: Unit, incident_id: int, step: int, exhausted: bool) -> int:
    row = await _required(u, incident_id)
    row["step"] = step
    row["exhausted"] = exhausted
    row["fence"] = int(row["fence"]) + 1
    u.put(INCIDENTS, incident_id, row)
    return int(row["fence"])


async def _count_reminder(u: Unit, incident_id: int) -> tuple[int, int]:
    row = await _required(u, incident_id)
    row["reminders"] = int(row["reminders"]) + 1
    row["fence"] = int(row["fence"]) + 1
    u.put(INCIDENTS, incident_id, row)
    return int(row["reminders"]), int(row["fence"])


async def _needing_recovery(u: Unit) -> list[IncidentDetail]:
    timed = await incidents_with_timers(u)
    rows = [
        r
        for r in await u.rows(INCIDENTS, _by_id(await u.smembers(_unresolved(u))))
        if IncidentState(r["state"]) in OPEN_STATES
        # An opened incident whose chain ran out waits for an officer, not for a step.
        and not (r["state"] == IncidentState.OPENED.value and r["exhausted"])
        and int(r["id"]) not in timed
    ]
    return await _details(u, rows)


# -- claims ------------------------------------------------------------------------------------
async def _add_claim(u: Unit, claim_id: str, incident_id: int, text: str, at: datetime) -> None:
    if await u.row(CLAIMS, claim_id) is not None:
        return  # the first incident of a claim keeps it
    seq = await u.incr(u.key("seq", CLAIMS))
    u.put(
        CLAIMS,
        claim_id,
        {
            "seq": seq,
            "claim_id": claim_id,
            "incident_id": incident_id,
            "text": text,
            "created_at": ts(at),
        },
    )
    u.zadd(_claim_seq(u), claim_id, seq)
    u.sadd(_claims_of(u, incident_id), claim_id)


async def _claims(u: Unit, after: int) -> list[tuple[int, str, str]]:
    ids = [m for m, _ in await u.zrange(_claim_seq(u), low=after + 1)]
    return [(int(r["seq"]), r["claim_id"], r["text"]) for r in await u.rows(CLAIMS, ids)]


async def _claim_incident(u: Unit, claim_id: str) -> int | None:
    row = await u.row(CLAIMS, claim_id)
    return int(row["incident_id"]) if row and row["incident_id"] is not None else None


async def _labelled_verdicts(u: Unit) -> list[tuple[str, str, str]]:
    verdicts: dict[int, list[str]] = {}
    for action in await u.all_rows(ACTIONS):
        if action["to_state"] in _VERDICTS:
            verdicts.setdefault(int(action["incident_id"]), []).append(action["to_state"])
    # A reviewer looked at the message itself: their label wins over the incident's verdict.
    labels = {int(k): json.loads(v)["label"] for k, v in (await u.hgetall(labels_key(u))).items()}
    ids: set[str] = {str(i) for i in labels}
    for incident_id in verdicts:
        ids |= await u.smembers(_flagged_of(u, incident_id))
    # One line per (message, label), in the order of SQLite's query: by message, then label.
    found: list[tuple[int, str, str, str]] = []
    for f in await u.rows(FLAGGED, ids):
        if f["platform"] == SANDBOX:
            continue
        flagged_id = int(f["id"])
        if flagged_id in labels:
            given = [labels[flagged_id]]
        else:
            states = verdicts.get(int(f["incident_id"] or 0), [])
            given = [f["category"] if s == "confirmed" else "normal" for s in states]
        found += [(flagged_id, f["message_key"], f["excerpt"], label) for label in given]
    return [(key, excerpt, label) for _, key, excerpt, label in sorted(found)]


# -- used by the store, inside its unit ----------------------------------------------------------
async def _purge_occurrences(u: Unit, incident_id: int) -> int:
    key, groups = _occurrences_of(u, incident_id), _groups_of(u, incident_id)
    found = await u.hgetall(key)
    for flagged_id in found:
        u.hdel(key, flagged_id)
    for group in await u.hgetall(groups):
        u.hdel(groups, group)
    u.hdel(_group_counts(u), str(incident_id))
    return len(found)


async def _purge_actions(u: Unit, incident_id: int) -> int:
    ids = await _members(u, _actions_of(u, incident_id))
    for action_id in ids:
        u.drop(ACTIONS, action_id)
        u.srem(_actions_of(u, incident_id), action_id)
    return len(ids)


async def _purge_claims(u: Unit, incident_id: int) -> int:
    ids = await _members(u, _claims_of(u, incident_id))
    for claim_id in ids:
        u.drop(CLAIMS, claim_id)
        u.zrem(_claim_seq(u), claim_id)
        u.srem(_claims_of(u, incident_id), claim_id)
    return len(ids)


def _forget_incident(u: Unit, row: Row) -> None:
    u.drop(INCIDENTS, row["id"])
    u.hdel(shown_key(u), str(row["id"]))
    u.srem(_unresolved(u), str(row["id"]))
    u.srem(_content(u, row["content_key"]), str(row["id"]))
    u.zrem(_last_seen(u), str(row["id"]))


async def _old(u: Unit, index: str, table: str, field: str, before: datetime) -> list[Row]:
    """Rows whose time is before `before`: the sorted set narrows, the exact text decides."""
    ids = [m for m, _ in await u.zrange(index, high=score(before))]
    return [r for r in await u.rows(table, ids) if dt(r[field]) < before]


async def purge(u: Unit, before: datetime) -> tuple[dict[str, int], list[int]]:
    """Delete incidents last seen before `before` with all that is theirs, and flagged
    messages received before it; returns the counts and the ids of the incidents purged."""
    stale = await _old(u, _last_seen(u), INCIDENTS, "last_seen", before)
    counts = dict.fromkeys(
        ("occurrences", "officer_actions", "claims", "review_labels", "flagged_messages"), 0
    )
    flagged: set[str] = set()
    for row in stale:
        incident_id = int(row["id"])
        counts["occurrences"] += await _purge_occurrences(u, incident_id)
        counts["officer_actions"] += await _purge_actions(u, incident_id)
        counts["claims"] += await _purge_claims(u, incident_id)
        flagged |= await u.smembers(_flagged_of(u, incident_id))
        _forget_incident(u, row)
    purged = {int(r["id"]) for r in stale}
    flagged |= {str(r["id"]) for r in await _old(u, _received(u), FLAGGED, "received_at", before)}
    for row in await u.rows(FLAGGED, _by_id(flagged)):
        # An old message of an incident still alive: its occurrence (which names the chat
        # and the message) goes with it; the incident keeps its count.
        if row["incident_id"] is not None and int(row["incident_id"]) not in purged:
            dropped = await _drop_occurrence(u, int(row["incident_id"]), int(row["id"]))
            counts["occurrences"] += dropped
        counts["review_labels"] += await _forget_flagged(u, row)
    counts["flagged_messages"] = len(flagged)
    counts["incidents"] = len(stale)
    return counts, [int(r["id"]) for r in stale]


async def open_count(u: Unit) -> int:
    """Incidents not resolved."""
    return len(await u.smembers(_unresolved(u)))


class RedisIncidents:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def record_flagged(self, record: FlaggedRecord) -> tuple[int, bool]:
        return await self._r.write(_record_flagged, record)

    async def find_open(self, content_key: str, since: datetime) -> Incident | None:
        return await self._r.read(_find_open, content_key, since)

    async def open(self, new: NewIncident) -> Incident:
        return await self._r.write(_open, new)

    async def add_occurrence(
        self,
        incident_id: int,
        flagged_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        seen_at: datetime,
    ) -> tuple[Incident, bool]:
        return await self._r.write(
            _add_occurrence, incident_id, flagged_id, platform, chat_id, message_id, seen_at
        )

    async def get(self, incident_id: int) -> IncidentDetail | None:
        return await self._r.read(_get, incident_id)

    async def query(
        self, units: list[str] | None = None, states: list[IncidentState] | None = None
    ) -> list[Incident]:
        return await self._r.read(_query, units, states)

    async def occurrences(self, incident_id: int) -> list[Occurrence]:
        return await self._r.read(_occurrences, incident_id)

    async def evidence(self, incident_id: int, limit: int = 8) -> list[tuple[str, str]]:
        """Distinct evidence of the incident's messages, oldest first: what officers act on."""
        return await self._r.read(_evidence, incident_id, limit)

    async def mark_corrected(self, incident_id: int, platform: str, chat_id: str) -> bool:
        """Claim the one correction a group gets per incident; False when already done."""
        return await self._r.write(_mark_corrected, incident_id, platform, chat_id)

    async def transition(
        self,
        incident_id: int,
        from_state: IncidentState,
        to_state: IncidentState,
        officer_id: str,
        action: str,
        at: datetime,
    ) -> bool:
        return await self._r.write(
            _transition, incident_id, from_state, to_state, officer_id, action, at
        )

    async def last_actor(self, incident_id: int) -> str | None:
        return await self._r.read(_last_actor, incident_id)

    async def advance_step(self, incident_id: int, step: int, exhausted: bool) -> int:
        return await self._r.write(_advance_step, incident_id, step, exhausted)

    async def count_reminder(self, incident_id: int) -> tuple[int, int]:
        return await self._r.write(_count_reminder, incident_id)

    async def needing_recovery(self) -> list[IncidentDetail]:
        return await self._r.read(_needing_recovery)

    async def add_claim(self, claim_id: str, incident_id: int, text: str, at: datetime) -> None:
        await self._r.write(_add_claim, claim_id, incident_id, text, at)

    async def claims(self, after: int = 0) -> list[tuple[int, str, str]]:
        return await self._r.read(_claims, after)

    async def claim_incident(self, claim_id: str) -> int | None:
        return await self._r.read(_claim_incident, claim_id)

    async def labelled_verdicts(self) -> list[tuple[str, str, str]]:
        """(message key, excerpt, label): reviewers' labels, else officers' verdicts."""
        return await self._r.read(_labelled_verdicts)

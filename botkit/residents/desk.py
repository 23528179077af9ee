"""A resident's private chat with the bot: tips, questions, and following a case.

- A tip told step by step (`/togiac`) or a message the classifiers flag opens a case the
  resident can follow (`/tinhtrang 17-K3F9Q`) and an incident for the officers.
- A question on a procedure gets the knowledge file's answer; one it cannot answer becomes a
  case handed to the commune's officers on duty, who reply with `/answer 17 …`.
- Someone writing too fast is asked, once, to slow down.

Everything happens inside the transaction that marks the message handled, so the
resident's reply, the officers' messages and the case are queued once, together.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from botkit.codec import encode_action
from botkit.config import Config
from botkit.contacts import Contacts
from botkit.domain import Flag, IncidentState, Message, OfficerCommand
from botkit.escalation import EscalationEngine
from botkit.escalation.roster import on_duty
from botkit.outbound import Button, CopyMessage, SendText
from botkit.places import PlaceBook
from botkit.privacy import Pseudonymizer, redact
from botkit.reports import counting
from botkit.residents.answers import Answer
from botkit.residents.cases import CaseKeys
from botkit.residents.conversation import TipDraft, Turn, advance, start
from botkit.residents.limits import Limit, admit
from botkit.residents.tips import Tip, open_tip
from botkit.sealing import SealError
from botkit.storage.base import Transaction
from botkit.storage.records import FlaggedRecord, NewCase, NewMessage
from botkit.texts import Texts

log = logging.getLogger(__name__)


class ResidentDesk:
    def __init__(
        self,
        config: Config,
        engine: EscalationEngine,
        contacts: Contacts,
        texts: Texts,
        places: PlaceBook,
        pseudonymizer: Pseudonymizer,
        keys: CaseKeys,
    ) -> None:
        self.config = config
        self.engine = engine
        self.contacts = contacts
        self.texts = texts
        self.places = places
        self.pseudonymizer = pseudonymizer
        self.keys = keys
        self.tz = ZoneInfo(config.bot.timezone)
        settings = config.residents
        self.limit = Limit(settings.max_messages, timedelta(minutes=settings.per_minutes))
        self.draft_age = timedelta(hours=settings.draft_hours)

    def jurisdiction(self, places: tuple[int, ...]) -> int:
        """The commune a private message is about: the first one it names, else the default."""
        return places[0] if places else self.config.jurisdiction.default

    # -- messages ---------------------------------------------------------------------------
    async def handle(
        self,
        tx: Transaction,
        *,
        message: Message,
        key: str,
        now: datetime,
        places: tuple[int, ...],
        short: bool,
        flag: Flag | None,
        record: FlaggedRecord | None,
        answer: Answer | None,
    ) -> None:
        chat = self._chat_key(message.platform, message.chat_id)
        verdict = await admit(tx, self.pseudonymizer.hash("rate", chat), now, self.limit)
        if verdict != "ok":
            if verdict == "notice":
                await self._reply(tx, message, key, now, self.texts.get("resident.slow_down"))
            return
        draft = await self._draft(tx, chat, now)
        if draft is not None:
            place_named = self._place_named(message.text) if message.text else None
            photo = message.message_id if ("media", "photo") in message.extra else None
            turn = advance(draft, message.text, places, place_named, photo)
            said, case_code = await self._turn(tx, turn, message, chat, now)
            await self._reply(tx, message, key, now, said, case_code)
            return
        if not message.text.strip():
            answer = None  # a photo outside a tip: nothing to answer
        parts: list[str] = []
        code: str | None = None
        if flag is not None and record is not None:
            text, code = await self._report(tx, message, flag, record, places, now)
            parts.append(text)
        if answer is not None:
            procedure = answer.procedure
            parts.append(
                self.texts.get("resident.answer", title=procedure.title, answer=procedure.answer)
            )
            where = self.jurisdiction(places)
            await self.engine.counter.add(tx, now, where, counting.ANSWERED)
        if not parts:
            if short:
                parts.append(self.texts.get("resident.hint"))
            elif self._is_officer(message):
                # An officer trying the bot: no case, no page to their own colleagues.
                parts.append(self.texts.get("resident.officer_unanswered"))
            else:
                text, code = await self._hand_over(tx, message, key, now, places)
                parts.append(text)
        await self._reply(tx, message, key, now, "\n\n".join(parts), code)

    async def _report(
        self,
        tx: Transaction,
        message: Message,
        flag: Flag,
        record: FlaggedRecord,
        places: tuple[int, ...],
        now: datetime,
    ) -> tuple[str, str | None]:
        """A message the classifiers flag: a hoax joins its incident like any forward; a
        crime, scam or accident opens a case the resident can follow (its code returned)."""
        if self.config.is_hoax(flag.category):
            incident = await self.engine.handle_flag(tx, flag, record)
            if incident is None:
                return self.texts.get("resident.report_noted"), None
            return self.texts.get("resident.report", incident_id=incident.id), None
        tip = Tip(
            platform=message.platform,
            chat_id=message.chat_id,
            text=message.text,
            category=flag.category,
            jurisdiction=self.jurisdiction(places),
            anonymous=False,
            score=flag.score,
            model_version=flag.verdict.model_version,
        )
        opened = await open_tip(
            tx, tip, now, engine=self.engine, keys=self.keys, pseudonymizer=self.pseudonymizer
        )
        return self.texts.get("tip.received", code=opened.code), opened.code

    # -- the guided tip ---------------------------------------------------------------------
    async def _turn(
        self, tx: Transaction, turn: Turn, message: Message, chat: str, now: datetime
    ) -> tuple[str, str | None]:
        draft_key = self.pseudonymizer.hash("draft", chat)
        if turn.draft is not None:
            await tx.drafts.put(draft_key, self.keys.sealer.seal(turn.draft.encode()), now)
            values = dict(turn.values)
            if turn.text_key == "tip.where_unknown":
                values["example"] = self.places.name(self.config.jurisdiction.default)
            return self.texts.get(turn.text_key, **values), None
        await tx.drafts.drop(draft_key)
        finished = turn.tip
        assert finished is not None
        text = self.texts.get(
            "tip.summary",
            what=finished.what,
            where=finished.where,
            when=finished.when,
            photo=self.texts.get("tip.photo_yes" if finished.photo else "tip.photo_no"),
        )
        tip = Tip(
            platform=message.platform,
            chat_id=message.chat_id,
            text=text,
            category=self.config.tip_category,
            jurisdiction=finished.place or self.config.jurisdiction.default,
            anonymous=finished.anonymous,
        )
        opened = await open_tip(
            tx, tip, now, engine=self.engine, keys=self.keys, pseudonymizer=self.pseudonymizer
        )
        if finished.photo is not None and opened.incident is not None:
            await self._copy_photo(tx, message, finished.photo, opened.incident.id, now)
        done = "tip.done_anonymous" if finished.anonymous else "tip.done"
        return self.texts.get(done, code=opened.code), opened.code

    async def _copy_photo(
        self, tx: Transaction, message: Message, photo: str, incident_id: int, now: datetime
    ) -> None:
        """The tip's photo, copied (not forwarded: no sender shown) to every officer its
        alert went to on the resident's platform; erased from the outbox once sent."""
        for page in await tx.outbox.step_pages(incident_id, 0):
            if page.platform != message.platform:
                continue  # a photo cannot cross platforms; the alert says there is one
            copy = CopyMessage(page.contact, message.chat_id, photo)
            await tx.outbox.enqueue_message(
                NewMessage(
                    f"tip-photo:{incident_id}:{page.officer_id}",
                    page.platform,
                    page.contact,
                    encode_action(copy),
                    incident_id,
                    erase=True,
                ),
                now,
            )

    async def _draft(self, tx: Transaction, chat: str, now: datetime) -> TipDraft | None:
        raw = await tx.drafts.get(self.pseudonymizer.hash("draft", chat), now - self.draft_age)
        if raw is None:
            return None
        try:
            return TipDraft.decode(self.keys.sealer.open(raw))
        except (SealError, ValueError, KeyError, TypeError):
            log.warning("a tip draft could not be read (another key?); it is discarded")
            return None

    def _place_named(self, text: str) -> int | None:
        place = self.places.find(text)
        return place.code if place is not None else None

    # -- commands ---------------------------------------------------------------------------
    async def command(self, tx: Transaction, cmd: OfficerCommand, verb: str) -> str | None:
        """`/togiac`, `/tinhtrang CODE`, `/huy`, in a private chat; the reply to send."""
        now = self.engine.clock.now()
        chat = self._chat_key(cmd.platform, cmd.sender_id)
        if await admit(tx, self.pseudonymizer.hash("rate", chat), now, self.limit) != "ok":
            return None
        draft_key = self.pseudonymizer.hash("draft", chat)
        if verb == "tip":
            turn = start()
            assert turn.draft is not None
            await tx.drafts.put(draft_key, self.keys.sealer.seal(turn.draft.encode()), now)
            return self.texts.get(turn.text_key)
        if verb == "cancel":
            had = await tx.drafts.get(draft_key, now - self.draft_age) is not None
            await tx.drafts.drop(draft_key)
            return self.texts.get("tip.cancelled" if had else "tip.nothing_to_cancel")
        return await self._status(tx, cmd.argument)

    async def _status(self, tx: Transaction, argument: str | None) -> str:
        parsed = self.keys.parse(argument)
        if parsed is None:
            return self.texts.get("case.status_usage")
        case_id, secret = parsed
        case = await tx.cases.get(case_id)
        if case is None or case.code_hash != self.keys.hash(secret):
            # The same answer for a wrong code and a purged case: a guess learns nothing.
            return self.texts.get("case.unknown", code=f"{case_id}-{secret}")
        state = case.state
        if case.kind == "tip" and case.incident_id is not None and state == "open":
            detail = await tx.incidents.get(case.incident_id)
            if detail is not None:
                state = _TIP_STATES[detail.incident.state]
        return self.texts.get(
            "case.status",
            case_id=case.id,
            kind=self.texts.get(f"case.kind_{case.kind}"),
            opened=case.opened_at.astimezone(self.tz).strftime("%d/%m %H:%M"),
            state=self.texts.get(f"case.state_{state}"),
        )

    async def answer(
        self, tx: Transaction, cmd: OfficerCommand, officer_id: str, now: datetime
    ) -> str:
        """`/answer 17 text`: an officer's reply, relayed to the resident of case 17."""
        if not cmd.in_private:
            return self.texts.get("case.answer_in_private")
        number, _, text = (cmd.argument or "").strip().partition(" ")
        number = number.lstrip("#")
        if not number.isdigit() or not text.strip():
            return self.texts.get("case.answer_usage")
        case = await tx.cases.get(int(number))
        officer = self.config.officer(officer_id)
        assert officer is not None
        if case is None:
            return self.texts.get("case.not_found", case_id=number)
        known = {u.id for u in self.config.units}
        # A case of a unit a reload removed (or none) is any registered officer's to answer.
        if case.unit in known and officer.unit not in self.engine.router.ancestors(case.unit):
            unit = self.config.unit(case.unit).name
            return self.texts.get("case.not_your_unit", case_id=case.id, unit=unit)
        chat = self.keys.open_contact(case.contact) if case.contact is not None else None
        if chat is None:
            return self.texts.get("case.anonymous", case_id=case.id)
        unit_name = self.config.unit(officer.unit).name
        relay = SendText(
            chat, self.texts.get("case.reply", unit=unit_name, case_id=case.id, text=text.strip())
        )
        key = self.pseudonymizer.hash("event", f"answer:{case.id}:{cmd.event_id or now}")
        await tx.outbox.enqueue_message(
            NewMessage(f"case-reply:{key}", case.platform, chat, encode_action(relay), erase=True),
            now,
        )
        if case.kind == "question":
            await tx.cases.set_state(case.id, "answered", now)
        await tx.audit.record(now, f"officer:{officer_id}", "case.answered", f"case:{case.id}", {})
        return self.texts.get("case.answered", case_id=case.id)

    # -- questions nobody wrote an answer for -----------------------------------------------
    async def _hand_over(
        self,
        tx: Transaction,
        message: Message,
        key: str,
        now: datetime,
        places: tuple[int, ...],
    ) -> tuple[str, str | None]:
        """A case for the officers on duty of the commune's unit; the text for the resident
        and the case's code."""
        jurisdiction = self.jurisdiction(places)
        unit_id = self._unit(jurisdiction)
        if unit_id is None:
            log.error("no unit takes residents' questions for commune %s", jurisdiction)
            return self.texts.get("resident.no_unit"), None
        unit = self.config.unit(unit_id)
        excerpt = redact(message.text, 500)
        secret, code_hash = self.keys.new_secret()
        case_id = await tx.cases.open(
            NewCase(
                kind="question",
                platform=message.platform,
                contact=self.keys.seal_contact(message.chat_id),
                code_hash=code_hash,
                jurisdiction=jurisdiction,
                unit=unit_id,
                excerpt=excerpt,
                opened_at=now,
            )
        )
        text = self.texts.get(
            "resident.question_for_officer",
            case_id=case_id,
            place=self.places.name(jurisdiction),
            excerpt=excerpt,
        )
        reached = 0
        for officer_id in on_duty(unit, now, self.tz):
            contact = self.contacts.first(officer_id)
            if contact is None:
                continue
            platform, chat = contact
            await tx.outbox.enqueue_message(
                NewMessage(
                    f"question:{key}:{officer_id}",
                    platform,
                    chat,
                    encode_action(SendText(chat, text)),
                ),
                now,
            )
            reached += 1
        if not reached:
            log.error("question %s reached no officer of %s (none reachable)", case_id, unit_id)
        await tx.audit.record(
            now, "botkit", "case.handed_over", f"case:{case_id}", {"officers": reached}
        )
        await self.engine.counter.add(tx, now, jurisdiction, counting.HANDED_OVER)
        code = self.keys.code(case_id, secret)
        return self.texts.get("resident.handed_over", unit=unit.name, code=code), code

    def _unit(self, jurisdiction: int) -> str | None:
        wanted = self.config.residents.unit
        if wanted is not None:
            return self.engine.router.resolve(wanted, jurisdiction)
        covering = [u for u in self.config.units if jurisdiction in u.jurisdictions]
        if covering:
            return covering[0].id
        tops = [u for u in self.config.units if u.parent is None]
        return tops[0].id if tops else None

    def _is_officer(self, message: Message) -> bool:
        return any(
            o.contacts.get(message.platform) == message.sender_id for o in self.config.officers
        )

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _chat_key(platform: str, chat_id: str) -> str:
        return f"{platform}:{chat_id}"

    async def _reply(
        self,
        tx: Transaction,
        message: Message,
        key: str,
        now: datetime,
        text: str,
        code: str | None = None,
    ) -> None:
        """The answer in the resident's chat; with a case's code, a button to follow it."""
        buttons = (Button(self.texts.get("button.status"), f"status:{code}"),) if code else ()
        reply = SendText(message.chat_id, text, buttons=buttons, reply_to=message.message_id)
        await tx.outbox.enqueue_message(
            NewMessage(
                f"resident:{key}",
                message.platform,
                message.chat_id,
                encode_action(reply),
                erase=True,
            ),
            now,
        )


# What a resident is told of their tip's incident (officers' words stay officers').
_TIP_STATES = {
    IncidentState.OPENED: "open",
    IncidentState.ACKNOWLEDGED: "acknowledged",
    IncidentState.CONFIRMED: "confirmed",
    IncidentState.FALSE_POSITIVE: "reviewed",
    IncidentState.RESOLVED: "resolved",
}

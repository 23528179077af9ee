"""The sandbox group chat: post as a resident into a made-up group of a commune and watch what
the bot does: the verdict, the incident opened or joined, the alerts and their delivery.

Where the message goes. Beside a running bot (`botkit run`, `botkit worker`) it is accepted
into the durable intake like any adapter's message, and the bot's worker handles it: the
whole real path, sealing and retries included. The console alone (`botkit web`) has no
worker, and a demo user expects to see what happens, not a message waiting for a bot that
may not run; so it runs the same pipeline here, at once, and says so on the page: its alerts
are recorded as not deliverable (only a process with the officers' adapters sends them, and
this one has none), so a demo of alerts arriving uses the console `botkit run` serves.

Should a demo page real officers? Yes: on the embedded default the alert arriving is the
point of the demo, and a sandbox post is a console user's deliberate act (admins and
officers only, each post audited). Its messages are marked by their platform (`sandbox`):
not reviewed, not exported for training, marked on the incident's page, and nothing is ever
sent into the sandbox group (no adapter runs under that name).

Posts are kept in this process's memory (the last few per user), as a chat window would:
what they became is read from the store each time the page is shown.
"""

from __future__ import annotations

import secrets
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from botkit.adapter import IntakeUnavailable
from botkit.decide import decide
from botkit.domain import Incident, Message
from botkit.domain.verdict import NORMAL
from botkit.pipeline import Inbound
from botkit.places import PlaceBook
from botkit.privacy import redact
from botkit.sandbox import SANDBOX, sandbox_chat

if TYPE_CHECKING:
    from botkit.classify import Analysis
    from botkit.config.schema import WebUser
    from botkit.web.console import ConsolePages

MAX_CHARS = 4096  # Telegram's limit: no resident can post a longer message in a group
POSTS_KEPT = 10  # per user
EXCERPT_SHOWN = 300
REFRESH_SECONDS = 2
REFRESH_FOR = timedelta(minutes=2)  # after that, the page stops refreshing by itself
NOT_HANDLED_AFTER = timedelta(minutes=1)
IN_PROGRESS = frozenset({"pending", "retry", "held"})


@dataclass(frozen=True, slots=True)
class Post:
    """One message posted into a sandbox group, as its author will see it again."""

    at: datetime
    commune: int
    message_key: str  # the store's key of the message (keyed hash), to find its flag by
    excerpt: str  # redacted: the console shows no personal data, even typed in a demo
    expected: bool  # flagged when classified here; without a flag yet, the worker has not run
    verdict: str  # what the classifier said, for when it was not flagged
    error: str | None = None


class SandboxPages:
    def __init__(self, console: ConsolePages) -> None:
        self.console = console
        self.posts: dict[str, deque[Post]] = defaultdict(lambda: deque(maxlen=POSTS_KEPT))

    def routes(self) -> list[Route]:
        return [
            Route("/sandbox", self.show, methods=["GET"]),
            Route("/sandbox", self.post, methods=["POST"]),
        ]

    def t(self, key: str, **values: Any) -> str:
        return self.console.texts.get(f"web.{key}", **values)

    def communes(self) -> list[int]:
        """The configured communes, the default first."""
        where = self.console.app.config.jurisdiction
        return list(dict.fromkeys([where.default, *where.communes]))

    def _allowed(self, request: Request) -> WebUser | Response:
        """The user, or the answer for who may not post here."""
        user = self.console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        if user.role == "viewer":
            return Response(self.t("sandbox_forbidden"), status_code=403)
        return user

    # -- pages ----------------------------------------------------------------------------
    async def show(self, request: Request) -> Response:
        user = self._allowed(request)
        if isinstance(user, Response):
            return user
        return await self._page(request, user)

    async def post(self, request: Request) -> Response:
        user = self._allowed(request)
        if isinstance(user, Response):
            return user
        form = await self.console.form(request)
        if form is None:
            return Response(self.t("forged"), status_code=403)
        text = str(form.get("text", "")).strip()
        try:
            commune = int(str(form.get("commune", "")))
        except ValueError:
            commune = -1
        error = None
        if commune not in self.communes():
            error = self.t("sandbox_bad_commune")
        elif not text:
            error = self.t("sandbox_empty")
        elif len(text) > MAX_CHARS:
            error = self.t("sandbox_too_long", length=_number(len(text)), max=_number(MAX_CHARS))
        if error is not None:
            return await self._page(request, user, 400, error=error, text=text, commune=commune)
        self.posts[user.name].appendleft(await self._send(user, commune, text))
        app = self.console.app
        await self.console.audit(f"web:{user.name}", "sandbox.post", f"sandbox:{commune}")
        place = PlaceBook(app.config.jurisdiction.province).name(commune)
        request.session["note"] = self.t("sandbox_posted", place=place)
        return RedirectResponse(f"/sandbox?commune={commune}", 303)

    # -- posting ----------------------------------------------------------------------------
    async def _send(self, user: WebUser, commune: int, text: str) -> Post:
        app = self.console.app
        pipeline = app.pipeline  # looked up now: a reload replaces it
        now = app.clock.now()
        message = Message(
            SANDBOX,
            sandbox_chat(commune),
            f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}",
            text,
            now,
            sender_id=f"web:{user.name}",
            sender_name=user.name,
            chat_title=self.t("sandbox_title"),
        )
        # Classified here too, for the page: what the model said when nothing is flagged,
        # and whether a flag is to be expected from the worker.
        [analysis] = await pipeline.analyse([message])
        flag = decide(app.config, message, analysis, commune, pipeline.pseudonymizer)
        error = None
        try:
            if self.console.inbox is not None:
                await self.console.inbox.submit_many([message], wait=False)
            else:
                failures = await pipeline.process([Inbound(message)])
                app.sender.wake.set()
                if failures:
                    error = failures[0].error
        except IntakeUnavailable as exc:
            error = str(exc)
        return Post(
            at=now,
            commune=commune,
            message_key=pipeline.pseudonymizer.hash("message", message.key),
            excerpt=_shortened(redact(text), EXCERPT_SHOWN),
            expected=flag is not None,
            verdict=self._verdict(analysis),
            error=None if error is None else self.t("sandbox_refused", error=error),
        )

    def _verdict(self, analysis: Analysis) -> str:
        """Why a message was not flagged: the model's strongest category and its threshold."""
        texts = self.console.texts
        categories = self.console.app.config.categories
        scores = [(s, label) for label, s in analysis.verdict.scores if label != NORMAL]
        if not scores:
            return self.t("sandbox_normal", category=texts.category(NORMAL))
        score, label = max(scores)
        threshold = categories[label].threshold if label in categories else None
        return self.t(
            "sandbox_not_flagged",
            category=texts.category(label),
            score=f"{score:.2f}",
            threshold=f"{threshold:.2f}" if threshold is not None else "—",
        )

    # -- what became of the posts --------------------------------------------------------
    async def _page(
        self, request: Request, user: WebUser, status: int = 200, **values: Any
    ) -> Response:
        shown = [await self._outcome(user, p) for p in self.posts[user.name]]
        now = self.console.app.clock.now()
        refresh = any(o["in_progress"] and now - o["post"].at < REFRESH_FOR for o in shown)
        try:
            chosen = int(request.query_params.get("commune", ""))
        except ValueError:
            chosen = self.communes()[0]
        values.setdefault("commune", chosen)
        return self.console.page(
            request,
            "sandbox.html",
            status=status,
            communes=self.communes(),
            outcomes=shown,
            intake=self.console.inbox is not None,
            refresh=REFRESH_SECONDS if refresh else None,
            max_chars=MAX_CHARS,
            **values,
        )

    async def _outcome(self, user: WebUser, post: Post) -> dict[str, Any]:
        app = self.console.app
        texts = self.console.texts
        outcome: dict[str, Any] = {"post": post, "flag": None, "cues": "", "incident": None}
        outcome |= {"hidden": None, "opened": False, "alerts": [], "status": None}
        flagged = None if post.error else await app.store.reviews.find(post.message_key)
        waiting = post.error is None and flagged is None and post.expected
        late = app.clock.now() - post.at > NOT_HANDLED_AFTER
        if waiting:
            outcome["status"] = self.t("sandbox_not_handled" if late else "sandbox_waiting")
        outcome["in_progress"] = waiting and not late
        if flagged is None:
            return outcome
        category = texts.category(flagged.category)
        outcome["flag"] = self.t("sandbox_flagged", category=category, score=f"{flagged.score:.2f}")
        outcome["cues"] = ", ".join(f"«{v}»" for k, v in flagged.evidence if k == "cue")
        detail = await app.store.incidents.get(flagged.incident_id) if flagged.incident_id else None
        if detail is None:
            return outcome
        incident: Incident = detail.incident
        if not self.console.visible(user, incident):
            outcome["hidden"] = incident.id
            return outcome
        outcome["incident"] = incident
        outcome["opened"] = incident.opened_at >= post.at
        alerts = await app.store.outbox.alerts(incident.id)
        outcome["alerts"] = [
            {
                "officer": self._officer(a.officer_id),
                "platform": a.platform,
                "kind": self._text(f"alert_kind_{a.kind}", a.kind),
                "status": self._text(f"alert_{a.status}", a.status),
                "delivered": a.status == "sent",
                "error": a.last_error,
                "id": a.id,
            }
            for a in alerts
        ]
        outcome["in_progress"] |= any(a.status in IN_PROGRESS for a in alerts)
        return outcome

    def _officer(self, officer_id: str) -> str:
        officer = self.console.app.config.officer(officer_id)
        return officer.name if officer else officer_id

    def _text(self, key: str, fallback: str) -> str:
        try:
            return self.t(key)
        except KeyError:  # a status or kind newer than the texts: shown as it is
            return fallback


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: int) -> str:
    """Thousands as Vietnamese writes them: 11.199."""
    return f"{value:,}".replace(",", ".")

"""The admin console's pages: login with roles, incidents with their timeline and actions.

Sessions are signed cookies (Starlette's SessionMiddleware, a key derived from the hash
key); every form carries the session's CSRF token; passwords are argon2 hashes from the
config; wrong passwords are slowed down per name and per address. An officer sees the
incidents of their unit and of the units below it (another unit's is "not found"), acts as
that officer through the same desk as in a chat; a viewer reads only. The review queue and
the sandbox group chat are pages of their own (`review`, `sandbox`).
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from botkit.config.schema import WebUser
from botkit.domain import Incident
from botkit.domain.incident import allowed_actions
from botkit.places import PlaceBook
from botkit.sandbox import SANDBOX
from botkit.texts import Texts
from botkit.web.models import ModelPages
from botkit.web.review import ReviewPages
from botkit.web.sandbox import SandboxPages

if TYPE_CHECKING:
    from botkit.app import App
    from botkit.intake import DurableInbox

FAILURES_ALLOWED = 5
FAILURE_WINDOW = 300.0  # seconds
SESSION_SECONDS = 8 * 3600
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify(user: WebUser | None, password: str) -> bool:
    if user is None:
        _HASHER.hash(password)  # the same time for an unknown name as for a wrong password
        return False
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_key(secret: bytes) -> str:
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"botkit web sessions v1").derive(secret)
    return key.hex()


class Throttle:
    """Failed logins per name and per address within a window (this process's memory)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            seen = self._failures[key]
            while seen and now - seen[0] > FAILURE_WINDOW:
                seen.popleft()
            if len(seen) >= FAILURES_ALLOWED:
                return True
        return False

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._failures[key].append(time.monotonic())


class ConsolePages:
    """`inbox`: the running bot's durable inbox, where sandbox posts go to its worker; None
    when the console runs alone (`botkit web`), which then handles them itself."""

    def __init__(self, app: App, inbox: DurableInbox | None = None) -> None:
        self.app = app
        self.inbox = inbox
        self.throttle = Throttle()
        self.env = Environment(
            loader=PackageLoader("botkit.web", "templates"),
            autoescape=select_autoescape(["html"]),
        )

    # -- wiring -------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        return [
            Route("/", self.home),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/incidents", self.incidents),
            Route("/incidents/{incident_id:int}", self.incident),
            Route("/incidents/{incident_id:int}/{action}", self.act, methods=["POST"]),
            Route("/rosters", self.rosters),
            *ModelPages(self).routes(),
            *ReviewPages(self).routes(),
            *SandboxPages(self).routes(),
        ]

    def middleware(self) -> list[Middleware]:
        return [
            Middleware(
                SessionMiddleware,
                secret_key=session_key(self.app.key.secret),
                session_cookie="botkit_session",
                max_age=SESSION_SECONDS,
                same_site="strict",
            )
        ]

    # -- helpers --------------------------------------------------------------------------
    @property
    def texts(self) -> Texts:
        return Texts(self.app.config.bot.language)

    def user(self, request: Request) -> WebUser | None:
        name = request.session.get("user")
        return next((u for u in self.app.config.web.users if u.name == name), None)

    @staticmethod
    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(24)
            request.session["csrf"] = token
        return token

    async def form(self, request: Request) -> dict[str, Any] | None:
        """The posted form, or None when its CSRF token is not the session's."""
        form = await request.form()
        sent = form.get("csrf")
        expected = request.session.get("csrf")
        if not isinstance(sent, str) or not isinstance(expected, str):
            return None
        if not hmac.compare_digest(sent, expected):
            return None
        return dict(form)

    def page(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        texts = self.texts

        def t(key: str, **values: Any) -> str:
            return texts.get(f"web.{key}", **values)

        places = PlaceBook(self.app.config.jurisdiction.province)
        tz = ZoneInfo(self.app.config.bot.timezone)
        units = {u.id: u.name for u in self.app.config.units}
        html = self.env.get_template(template).render(
            user=self.user(request),
            csrf=self.csrf(request),
            note=request.session.pop("note", None),
            category=texts.category,
            place=places.name,
            unit=lambda u: units.get(u, u),
            state=lambda s: texts.get(f"state.{s.value}"),
            button=lambda a: texts.get(f"button.{a}"),
            local=lambda at: at.astimezone(tz).strftime("%d/%m %H:%M"),
            t=t,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def visible(self, user: WebUser, incident: Incident) -> bool:
        if user.role != "officer":
            return True
        officer = self.app.config.officer(user.officer or "")
        if officer is None:
            return False
        known = {u.id for u in self.app.config.units}
        if incident.unit not in known:
            return False
        return officer.unit in self.app.engine.router.ancestors(incident.unit)

    def acting(self, user: WebUser) -> str | None:
        """The officer this user acts as; None for who may only read."""
        return None if user.role == "viewer" else user.officer

    # -- pages ----------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        return RedirectResponse("/incidents" if self.user(request) else "/login", 303)

    async def login_form(self, request: Request) -> Response:
        return self.page(request, "login.html")

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        if form is None:
            return Response("Biểu mẫu không hợp lệ (thiếu mã chống giả mạo).", status_code=403)
        name = str(form.get("name", ""))
        address = request.client.host if request.client else "?"
        keys = (f"name:{name}", f"address:{address}")
        if self.throttle.blocked(*keys):
            error = "Sai mật khẩu quá nhiều lần. Vui lòng thử lại sau ít phút."
            return self.page(request, "login.html", status=429, error=error)
        user = next((u for u in self.app.config.web.users if u.name == name), None)
        password = str(form.get("password", ""))
        if not await asyncio.to_thread(_verify, user, password):  # argon2: CPU, off the loop
            self.throttle.failed(*keys)
            await self.audit("web:unknown", "web.login_refused", f"user:{name}")
            error = "Sai tên đăng nhập hoặc mật khẩu."
            return self.page(request, "login.html", status=401, error=error)
        request.session.clear()
        request.session["user"] = name
        request.session["csrf"] = secrets.token_urlsafe(24)  # a new token for the new session
        await self.audit(f"web:{name}", "web.login", f"user:{name}")
        return RedirectResponse("/incidents", 303)

    async def logout(self, request: Request) -> Response:
        if await self.form(request) is None:
            return Response("Biểu mẫu không hợp lệ (thiếu mã chống giả mạo).", status_code=403)
        request.session.clear()
        return RedirectResponse("/login", 303)

    async def incidents(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        rows = await self.app.store.incidents.query()
        shown = sorted(
            (i for i in rows if self.visible(user, i)), key=lambda i: i.last_seen, reverse=True
        )
        return self.page(request, "incidents.html", incidents=shown[:200])

    async def incident(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        found = await self._visible_incident(request, user)
        if found is None:
            return self._not_found(request)
        subject = f"incident:{found.id}"
        timeline = [
            _Entry(datetime.fromisoformat(e["at"]), e["actor"], e["action"])
            for e in await self.app.store.audit.log(5000)
            if e["subject"] == subject
        ]
        timeline.sort(key=lambda e: e.at)
        actions = allowed_actions(found.state) if self.acting(user) else ()
        occurrences = await self.app.store.incidents.occurrences(found.id)
        sandbox = sum(o.platform == SANDBOX for o in occurrences)  # demo posts, marked as such
        # Where it was seen: the group's platform and commune (a group's chat id means
        # nothing to an officer), when, and whether the group got the correction.
        groups = self.app.pipeline.groups
        seen = [
            (o, await groups.jurisdiction(o.platform, o.chat_id))
            for o in sorted(occurrences, key=lambda o: o.seen_at)[:OCCURRENCES_SHOWN]
        ]
        return self.page(
            request,
            "incident.html",
            i=found,
            timeline=timeline,
            actions=actions,
            sandbox=sandbox,
            seen=seen,
        )

    async def act(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        if await self.form(request) is None:
            return Response("Biểu mẫu không hợp lệ (thiếu mã chống giả mạo).", status_code=403)
        found = await self._visible_incident(request, user)
        if found is None:
            return self._not_found(request)
        officer_id = self.acting(user)
        action = request.path_params["action"]
        if officer_id is None:
            return Response("Tài khoản chỉ được xem, không được xử lý.", status_code=403)
        if action not in ("ack", "confirm", "false", "resolve"):
            return self._not_found(request)
        desk = self.app.desk

        async def effect(tx: Any) -> str:
            return await desk.act_as(tx, officer_id, action, str(found.id))

        request.session["note"] = await self.app.store.run_transaction(effect)
        self.app.sender.wake.set()  # the alerts' edits, a correction in the groups
        return RedirectResponse(f"/incidents/{found.id}", 303)

    # -- rosters --------------------------------------------------------------------------
    async def rosters(self, request: Request) -> Response:
        """Who is on duty now in each unit, and the gaps `check-config` reports."""
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        from botkit.checks import config_problems
        from botkit.escalation.roster import on_duty

        config = self.app.config
        tz = ZoneInfo(config.bot.timezone)
        now = self.app.clock.now()

        def name(officer_id: str) -> str:
            officer = config.officer(officer_id)
            return officer.name if officer else officer_id

        units = [
            {
                "name": unit.name,
                "on_duty": ", ".join(name(o) for o in on_duty(unit, now, tz)),
                "shifts": "; ".join(
                    f"{', '.join(name(o) for o in s.officers)}"
                    f" {s.start.strftime('%H:%M')}–{s.end.strftime('%H:%M')}"
                    for s in unit.shifts
                ),
                "officers": ", ".join(name(o.id) for o in config.officers if o.unit == unit.id),
            }
            for unit in config.units
        ]
        when = now.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        problems = config_problems(config)
        return self.page(request, "rosters.html", units=units, now=when, problems=problems)

    async def _visible_incident(self, request: Request, user: WebUser) -> Incident | None:
        detail = await self.app.store.incidents.get(int(request.path_params["incident_id"]))
        if detail is None or not self.visible(user, detail.incident):
            return None  # another unit's incident is not found, not "forbidden"
        return detail.incident

    def _not_found(self, request: Request) -> Response:
        return Response("Không tìm thấy.", status_code=404)

    async def audit(self, actor: str, action: str, subject: str) -> None:
        now = self.app.clock.now()
        await self.app.store.audit.record(now, actor, action, subject, {})


OCCURRENCES_SHOWN = 200  # a hoax forwarded into every group of a district, and more


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of an incident's timeline, from the audit log."""

    at: datetime
    actor: str
    action: str

"""The review queue: flagged messages to label, for `botkit labels export` and training.

A reviewer sees a message's redacted excerpt (never its text), the model's category and
score, its incident and when it came, and labels it with a configured category or
"normal". A label takes the message out of the queue; the export then prefers it to the
label the incident's verdict gives. Officers see the messages of the incidents they see
(another unit's is "not found"); viewers look but may not label; every label is audited in
the same commit as the label itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from botkit.domain import Incident
from botkit.domain.verdict import NORMAL
from botkit.sandbox import SANDBOX
from botkit.storage.records import FlaggedItem

if TYPE_CHECKING:
    from botkit.config.schema import WebUser
    from botkit.web.console import ConsolePages

QUEUE_SHOWN = 100  # a page a reviewer works through; the rest come as these are labelled
RECENT_SHOWN = 10  # labelled ones under the queue, to check or change a label just given
DONE_SHOWN = 200  # `?done=1`
EXCERPT_SHOWN = 1000  # characters of an excerpt on the page


class ReviewPages:
    def __init__(self, console: ConsolePages) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        return [
            Route("/review", self.queue),
            Route("/review/{flagged_id:int}/label", self.label, methods=["POST"]),
        ]

    @property
    def labels(self) -> list[str]:
        """What a message may be labelled: the configured categories, and normal."""
        return [*self.console.app.config.categories, NORMAL]

    async def _scope(self, user: WebUser) -> tuple[dict[int, Incident], list[int] | None]:
        """The incidents the user sees by id, and the ids to list messages of (None: all,
        also messages of no incident)."""
        everything = await self.console.app.store.incidents.query()
        by_id = {i.id: i for i in everything if self.console.visible(user, i)}
        return by_id, list(by_id) if user.role == "officer" else None

    async def queue(self, request: Request) -> Response:
        console = self.console
        user = console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        incidents, scope = await self._scope(user)
        reviews = console.app.store.reviews
        done = request.query_params.get("done") == "1"
        pending: Sequence[FlaggedItem] = () if done else await reviews.pending(scope, QUEUE_SHOWN)
        labelled = await reviews.labelled(scope, DONE_SHOWN if done else RECENT_SHOWN)
        return console.page(
            request,
            "review.html",
            done=done,
            pending=pending,
            labelled=labelled,
            incidents=incidents,
            labels=self.labels,
            may_label=user.role != "viewer",
            shown=EXCERPT_SHOWN,
        )

    async def label(self, request: Request) -> Response:
        console = self.console
        texts = console.texts
        user = console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        form = await console.form(request)
        if form is None:
            return Response(texts.get("web.forged"), status_code=403)
        if user.role == "viewer":
            return Response(texts.get("web.review_forbidden"), status_code=403)
        item = await self._visible_item(user, int(request.path_params["flagged_id"]))
        if item is None:
            return Response(texts.get("web.not_found"), status_code=404)
        label = str(form.get("label", "")).strip()
        if label not in self.labels:
            choices = ", ".join(f"{texts.category(c)} ({c})" for c in self.labels)
            message = texts.get("web.review_bad_label", label=label, choices=choices)
            return Response(message, status_code=400)
        app = console.app
        now = app.clock.now()
        reviewer = f"web:{user.name}"
        details: dict[str, Any] = {
            "label": label,
            "model": item.category,
            "incident": item.incident_id,
        }

        async def effect(tx: Any) -> bool:
            if not await tx.reviews.label(item.id, label, reviewer, now):
                return False  # purged meanwhile
            await tx.audit.record(now, reviewer, "review.label", f"flagged:{item.id}", details)
            return True

        if not await app.store.run_transaction(effect):
            return Response(texts.get("web.not_found"), status_code=404)
        request.session["note"] = texts.get(
            "web.review_labelled", label=texts.category(label), flagged_id=item.id
        )
        return RedirectResponse("/review?done=1" if form.get("done") == "1" else "/review", 303)

    async def _visible_item(self, user: WebUser, flagged_id: int) -> FlaggedItem | None:
        """The message if this user may see it: another unit's (or a sandbox post, which is
        not training data) is "not found", as for incidents."""
        item = await self.console.app.store.reviews.get(flagged_id)
        if item is None or item.platform == SANDBOX:
            return None
        if user.role != "officer":
            return item
        if item.incident_id is None:
            return None
        detail = await self.console.app.store.incidents.get(item.incident_id)
        if detail is None or not self.console.visible(user, detail.incident):
            return None
        return item

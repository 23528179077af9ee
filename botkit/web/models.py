"""Model versions: the registry's versions with their held-out metrics, one version's
per-category metrics beside the current model's with a plot, and promote/rollback through
the same gate as `botkit models promote` (admins only)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from botkit.web.console import ConsolePages
    from classifiers.card import ModelCard

MISSING = "Cấu hình dùng một thư mục mô hình cố định ([model] path), không có sổ phiên bản."
METRICS = ("precision", "recall", "f1", "support")


class ModelPages:
    def __init__(self, console: ConsolePages) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        return [
            Route("/models", self.models),
            Route("/models/rollback", self.rollback, methods=["POST"]),
            Route("/models/{version}", self.model),
            Route("/models/{version}/plot.png", self.plot),
            Route("/models/{version}/promote", self.promote, methods=["POST"]),
        ]

    def _registry(self) -> Path | None:
        """The deployment's registry (None when the config names one model directory)."""
        app = self.console.app
        if app.config.model.path:
            return None
        root = Path(app.config.model.registry)
        return root if root.is_absolute() else app.base_dir / root

    async def models(self, request: Request) -> Response:
        user = self.console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        from classifiers.registry import ModelRegistry

        root = self._registry()
        found = await asyncio.to_thread(ModelRegistry(root).list) if root is not None else []
        admin = user.role == "admin"
        return self.console.page(request, "models.html", models=found, admin=admin, missing=MISSING)

    async def _cards(self, version: str) -> tuple[ModelCard, ModelCard | None] | None:
        """The version's card and the current model's (None: no such version)."""
        from classifiers.persistence import read_card
        from classifiers.registry import ModelRegistry

        root = self._registry()
        if root is None or "/" in version or version.startswith("."):
            return None
        registry = ModelRegistry(root)

        def read() -> tuple[ModelCard, ModelCard | None] | None:
            names = {i.version: i for i in registry.list()}
            if version not in names:
                return None
            current = registry.current_version()
            shown = read_card(names[version].directory)
            now = read_card(names[current].directory) if current in names else None
            return shown, now

        return await asyncio.to_thread(read)

    async def model(self, request: Request) -> Response:
        user = self.console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        version = request.path_params["version"]
        cards = await self._cards(version)
        if cards is None:
            return Response("Không tìm thấy.", status_code=404)
        card, current = cards
        rows = _rows(card, current)
        return self.console.page(
            request,
            "model.html",
            card=card,
            current=current,
            rows=rows,
            folded=card.metrics_folded.get("macro_f1"),
            admin=user.role == "admin",
        )

    async def plot(self, request: Request) -> Response:
        """Per-category F1 on the held-out set, this version beside the current one (PNG)."""
        if self.console.user(request) is None:
            return Response(status_code=401)
        cards = await self._cards(request.path_params["version"])
        if cards is None:
            return Response("Không tìm thấy.", status_code=404)
        png = await asyncio.to_thread(_plot, *cards)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def promote(self, request: Request) -> Response:
        return await self._change_model(request, request.path_params["version"])

    async def rollback(self, request: Request) -> Response:
        return await self._change_model(request, None)

    async def _change_model(self, request: Request, version: str | None) -> Response:
        """Promote (through the same gate as `botkit models promote`) or roll back."""
        console = self.console
        user = console.user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        if await console.form(request) is None:
            return Response("Biểu mẫu không hợp lệ (thiếu mã chống giả mạo).", status_code=403)
        root = self._registry()
        if user.role != "admin" or root is None:
            return Response("Chỉ quản trị viên được đổi mô hình.", status_code=403)
        from botkit.training import PromotionError, promote_checked
        from classifiers.registry import ModelRegistry

        categories = list(console.app.config.categories)
        try:
            if version is None:
                done = await asyncio.to_thread(ModelRegistry(root).rollback)
                note = f"Đã quay lại {done}."
            else:
                result = await asyncio.to_thread(promote_checked, root, version, False, categories)
                note = f"Đã đưa {version} vào dùng: {result}."
        except (PromotionError, LookupError) as exc:
            note = f"Không đổi: {exc}"
        await console.audit(f"web:{user.name}", "web.model", f"model:{version or 'rollback'}")
        request.session["note"] = note
        return RedirectResponse("/models", 303)


def _per_class(card: ModelCard | None) -> dict[str, dict[str, Any]]:
    if card is None:
        return {}
    per_class = card.metrics.get("per_class", {})
    return per_class if isinstance(per_class, dict) else {}


def _rows(card: ModelCard, current: ModelCard | None) -> list[dict[str, Any]]:
    """One row per category: this version's metrics and the current model's F1."""
    mine, theirs = _per_class(card), _per_class(current)
    return [
        {
            "label": label,
            **{m: mine.get(label, {}).get(m) for m in METRICS},
            "current_f1": theirs.get(label, {}).get("f1"),
        }
        for label in card.labels
    ]


def _plot(card: ModelCard, current: ModelCard | None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure

    labels = list(card.labels)
    mine, theirs = _per_class(card), _per_class(current)
    figure = Figure(figsize=(7, 3.2), dpi=100)
    axes = figure.add_subplot()
    positions = range(len(labels))
    width = 0.4 if current is not None and current.version != card.version else 0.8
    axes.bar(
        [p - (width / 2 if width < 0.8 else 0) for p in positions],
        [float(mine.get(label, {}).get("f1") or 0) for label in labels],
        width,
        label=card.version,
    )
    if width < 0.8 and current is not None:
        axes.bar(
            [p + width / 2 for p in positions],
            [float(theirs.get(label, {}).get("f1") or 0) for label in labels],
            width,
            label=f"{current.version} (đang dùng)",
        )
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylim(0, 1)
    axes.set_ylabel("F1 (tập kiểm tra)")
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()

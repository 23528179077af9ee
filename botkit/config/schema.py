"""The shape of `config.toml`. Every key is checked; unknown keys are errors."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from classifiers.places import find_place, similar_places

# The default taxonomy; a model trained on other labels brings its own categories.
CATEGORY_KEYS = ("fake_news", "crime_report", "scam", "traffic_accident")
_CATEGORY_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
Policy = Literal["alert", "alert+reply", "alert+delete", "none"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALL_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _place_code(value: object, info: ValidationInfo) -> object:
    """Accept a commune code or a name as residents write it; store the code."""
    province = (info.context or {}).get("province")
    if isinstance(value, int) or province is None:
        return value
    if isinstance(value, str):
        place = find_place(value, province)
        if place is None:
            similar = ", ".join(f"{p.name} ({p.code})" for p in similar_places(value, province))
            hint = f"; did you mean {similar}?" if similar else ""
            raise ValueError(f"{value!r} is no commune or ward of province {province}{hint}")
        return place.code
    return value


PlaceCode = Annotated[int, BeforeValidator(_place_code)]


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError("must name an environment variable (A-Z, 0-9, _), not hold a secret")
    return value


class BotSettings(Strict):
    language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    retention_days: int = Field(90, ge=1, le=3650)
    audit_retention_days: int = Field(365, ge=1, le=3650)
    hash_key_env: str = "BOTKIT_HASH_KEY"
    data_dir: str = "var"
    batch_size: int = Field(64, ge=1, le=4096)
    short_message_chars: int = Field(
        12, ge=0, description="messages shorter than this are never flagged (quiet bot)"
    )
    stop_timeout_seconds: float = Field(
        10, gt=0, le=600, description="a graceful stop ends within this; the rest stays queued"
    )
    intake_capacity: int = Field(
        10_000, ge=1, description="accepted events waiting at most; adapters slow down beyond"
    )
    max_event_attempts: int = Field(
        5, ge=1, le=100, description="an event failing this often becomes a dead letter"
    )

    _check_env = field_validator("hash_key_env")(_env_name)


class StorageSettings(Strict):
    backend: Literal["sqlite", "redis"] = Field(
        "sqlite", description="sqlite: one process, embedded; redis: a fleet sharing one state"
    )
    path: str = "var/botkit.sqlite3"
    url_env: str = Field(
        "BOTKIT_REDIS_URL",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="the environment variable holding the Redis URL (it may hold a password)",
    )
    key_prefix: str = Field(
        "botkit",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="one prefix per deployment sharing a Redis server",
    )
    spool_capacity: int = Field(
        10_000,
        ge=0,
        le=10_000_000,
        description="events an intake process keeps on its own disk while Redis is away (0: none)",
    )
    synchronous: Literal["full", "normal"] = Field(
        "full",
        description="full: a commit survives a power cut; normal: only a process crash",
    )
    max_megabytes: float | None = Field(
        None, gt=0, description="cap the database's size (a full store refuses new events)"
    )


class DeliverySettings(Strict):
    """How the outbox sends: timeouts, retries, edits."""

    send_timeout_seconds: float = Field(
        20, gt=0, le=300, description="a platform call taking longer is abandoned and retried"
    )
    max_attempts: int = Field(
        8, ge=1, le=100, description="after this many failed tries a send is given up"
    )
    retry_base_seconds: float = Field(2, gt=0, le=3600)
    retry_max_seconds: float = Field(600, gt=0, le=86400)
    edit_interval_seconds: float = Field(
        5, ge=0, le=3600, description="delivered alerts are edited at most this often"
    )
    lanes: int = Field(32, ge=1, le=1024, description="chats sent to at the same time")


class ModelSettings(Strict):
    registry: str = "models"
    path: str | None = Field(None, description="a model directory; overrides the registry")


class JurisdictionSettings(Strict):
    province: int = Field(..., description="province code (vietnam-provinces, 2025 structure)")
    communes: list[PlaceCode] = Field(default_factory=list)
    default: PlaceCode


class Shift(Strict):
    officers: list[str]
    days: list[Weekday] = Field(default_factory=lambda: list(ALL_DAYS))
    start: time = time(0, 0)
    end: time = time(23, 59, 59)


class Override(Strict):
    officer: str
    start: date
    end: date
    replaced_by: str | None = None


class EscalationStep(Strict):
    notify: str = Field(..., description="on_duty | leader | unit:<id> | officer:<id>")
    wait_minutes: float = Field(15, gt=0)

    @field_validator("notify")
    @classmethod
    def _target(cls, value: str) -> str:
        if value in ("on_duty", "leader") or value.startswith(("unit:", "officer:")):
            return value
        raise ValueError("must be on_duty, leader, unit:<id> or officer:<id>")


class Roster(Strict):
    """Who answers for a unit: its shifts, leave overrides and leader."""

    leader: str | None = None
    shifts: list[Shift] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)


class UnitSettings(Roster):
    id: str
    name: str
    kind: str = Field(
        ..., description="what the unit does, matched by categories, e.g. commune_police"
    )
    jurisdictions: list[PlaceCode] = Field(
        default_factory=list, description="communes it covers; empty = the whole province"
    )
    parent: str | None = None
    escalation: list[EscalationStep] = Field(default_factory=list)
    repeat: int = Field(1, ge=1, le=10)
    reminder_hours: float = Field(24, gt=0)


class OfficerSettings(Strict):
    id: str
    name: str
    unit: str
    contacts: dict[str, str] = Field(default_factory=dict)
    rate_per_minute: int = Field(6, ge=1)


class GroupSettings(Strict):
    platform: str
    chat: str
    jurisdiction: PlaceCode
    name: str | None = None


class CategorySettings(Strict):
    threshold: float = Field(0.6, ge=0.0, le=1.0)
    unit: str
    policy: Policy = "alert"
    name: str | None = None
    # A hoax category: a confirmed incident becomes a known claim, its groups get the
    # correction, and reworded forwards fold into the open incident. Unset: `fake_news` is.
    hoax: bool | None = None


class RouteMatch(Strict):
    categories: list[str] = Field(default_factory=list)
    jurisdictions: list[PlaceCode] = Field(default_factory=list)


class RouteSettings(Strict):
    match: RouteMatch = RouteMatch()
    unit: str
    continue_: bool = Field(False, alias="continue")


class GroupingSettings(Strict):
    window_hours: float = Field(48, gt=0)
    claim_threshold: float = Field(0.7, gt=0, le=1)
    # A reworded forward of an open hoax joins its incident at this similarity (botkit.nearby).
    near_duplicate_threshold: float = Field(0.55, gt=0, le=1)


class ResidentSettings(Strict):
    """Residents writing to the bot in private: answers on procedures, hand-over to officers."""

    answers: bool = True
    # None: the shipped `botkit/knowledge/procedures.vi.toml`; a path: the admin's own file.
    knowledge: str | None = None
    # A question this likely to be a known one gets its answer (half as likely when it names
    # one of the procedure's keywords); below, it goes to an officer. Measured:
    # bench/bench_answers.py.
    answer_threshold: float = Field(0.4, gt=0, le=1)
    # Who receives questions the bot cannot answer: a unit id, or a kind (the unit of that
    # kind covering the resident's commune). None: the first unit covering the commune.
    unit: str | None = None
    # A tip (`/togiac`) is routed and escalated like a flag of this category. None:
    # crime_report when configured, else the first category.
    tip_category: str | None = None
    # A tip left unfinished this long is discarded.
    draft_hours: float = Field(6, gt=0)
    # More private messages than this from one person within the window: asked to slow down.
    max_messages: int = Field(12, ge=1)
    per_minutes: float = Field(10, gt=0)


class WebUser(Strict):
    """Someone who may log in to the console. `password_hash` is an argon2 hash
    (`botkit web hash-password`), never a password."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    role: Literal["admin", "officer", "viewer"]
    officer: str | None = None  # the officer they act as (required for officers)
    password_hash: str = Field(pattern=r"^\$argon2id?\$")


class WebSettings(Strict):
    """`/healthz` and `/metrics` (Prometheus) served by `botkit run` and `botkit worker`, and
    the console's pages for the users listed."""

    enabled: bool = False
    host: str = "127.0.0.1"  # loopback by default: put a proxy in front to expose it
    port: int = Field(8088, ge=1, le=65535)
    users: list[WebUser] = Field(default_factory=list)


class ImageSettings(Strict):
    """Pictures in messages: text read by Tesseract OCR, known hoax pictures recognised.

    Without Debian's `tesseract-ocr` and `tesseract-ocr-vie` pictures are only fingerprinted
    (one warning at start); captions are classified either way.
    """

    enabled: bool = True
    language: str = Field("vie", pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16})*$")  # tesseract -l
    # A picture is fetched, decoded and read only within these limits; nothing of it is kept
    # but its fingerprint and a redacted excerpt of the text read.
    max_bytes: int = Field(10_000_000, gt=0)
    max_pixels: int = Field(40_000_000, gt=0)
    ocr_timeout_seconds: float = Field(10.0, gt=0)
    fetch_timeout_seconds: float = Field(10.0, gt=0)
    # A re-shared copy of a confirmed hoax picture is recognised within this many differing
    # bits of its 256-bit fingerprint. Measured (bench/bench_images.py): copies of notices
    # within 42, the nearest other notice at 76 (1 pair in 19,900 of look-alike notices at 42).
    match_distance: int = Field(48, ge=0, le=128)


class AdapterSettings(BaseModel):
    """Settings of one adapter; keys beyond these belong to the adapter and it checks them."""

    model_config = ConfigDict(extra="allow", frozen=True)
    enabled: bool = True

    def option(self, key: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(key, default)


class Config(Strict):
    bot: BotSettings = BotSettings()
    storage: StorageSettings = StorageSettings()
    delivery: DeliverySettings = DeliverySettings()
    model: ModelSettings = ModelSettings()
    jurisdiction: JurisdictionSettings
    units: list[UnitSettings]
    officers: list[OfficerSettings]
    groups: list[GroupSettings] = Field(default_factory=list)
    categories: dict[str, CategorySettings]
    routes: list[RouteSettings] = Field(default_factory=list)
    grouping: GroupingSettings = GroupingSettings()
    residents: ResidentSettings = ResidentSettings()
    web: WebSettings = WebSettings()
    images: ImageSettings = ImageSettings()
    adapters: dict[str, AdapterSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Config:
        unit_ids = [u.id for u in self.units]
        officer_ids = [o.id for o in self.officers]
        _unique("units", unit_ids)
        _unique("officers", officer_ids)
        kinds = {u.kind for u in self.units}
        for key in self.categories:
            if not _CATEGORY_KEY.match(key):
                raise ValueError(
                    f"categories.{key}: a category is named by its model label (letters, "
                    "digits, _ . -)"
                )
        for key, cat in self.categories.items():
            if cat.unit not in kinds and cat.unit not in unit_ids:
                raise ValueError(
                    f"categories.{key}.unit = {cat.unit!r}: no unit has that id or kind"
                )
        for i, officer in enumerate(self.officers):
            if officer.unit not in unit_ids:
                raise ValueError(f"officers[{i}].unit = {officer.unit!r}: no such unit")
        for i, unit in enumerate(self.units):
            if unit.parent is not None and unit.parent not in unit_ids:
                raise ValueError(f"units[{i}].parent = {unit.parent!r}: no such unit")
            if unit.leader is not None and unit.leader not in officer_ids:
                raise ValueError(f"units[{i}].leader = {unit.leader!r}: no such officer")
            for j, shift in enumerate(unit.shifts):
                for name in shift.officers:
                    if name not in officer_ids:
                        raise ValueError(f"units[{i}].shifts[{j}].officers: {name!r} is no officer")
            for j, step in enumerate(unit.escalation):
                target_kind, _, target = step.notify.partition(":")
                if target_kind == "unit" and target not in unit_ids:
                    raise ValueError(f"units[{i}].escalation[{j}].notify: no unit {target!r}")
                if target_kind == "officer" and target not in officer_ids:
                    raise ValueError(f"units[{i}].escalation[{j}].notify: no officer {target!r}")
        for i, route in enumerate(self.routes):
            if route.unit not in unit_ids and route.unit not in kinds:
                raise ValueError(f"routes[{i}].unit = {route.unit!r}: no unit has that id or kind")
        _unique("groups", [f"{g.platform}:{g.chat}" for g in self.groups])
        if self.residents.unit is not None and self.residents.unit not in {*unit_ids, *kinds}:
            raise ValueError(
                f"residents.unit = {self.residents.unit!r}: no unit has that id or kind"
            )
        _unique("web.users", [u.name for u in self.web.users])
        for i, user in enumerate(self.web.users):
            if user.officer is not None and user.officer not in officer_ids:
                raise ValueError(f"web.users[{i}].officer = {user.officer!r}: no such officer")
            if user.role == "officer" and user.officer is None:
                raise ValueError(f"web.users[{i}]: an officer's account names its officer")
        tip = self.residents.tip_category
        if tip is not None and tip not in self.categories:
            raise ValueError(f"residents.tip_category = {tip!r}: no such category")
        return self

    @property
    def tip_category(self) -> str:
        if self.residents.tip_category is not None:
            return self.residents.tip_category
        if "crime_report" in self.categories or not self.categories:
            return "crime_report"
        return next(iter(self.categories))

    def is_hoax(self, category: str) -> bool:
        settings = self.categories.get(category)
        if settings is None or settings.hoax is None:
            return category == "fake_news"
        return settings.hoax

    @property
    def hoax_categories(self) -> frozenset[str]:
        return frozenset(k for k in self.categories if self.is_hoax(k))

    def unit(self, unit_id: str) -> UnitSettings:
        return next(u for u in self.units if u.id == unit_id)

    def officer(self, officer_id: str) -> OfficerSettings | None:
        return next((o for o in self.officers if o.id == officer_id), None)

    def enabled_adapters(self) -> dict[str, AdapterSettings]:
        return {name: s for name, s in self.adapters.items() if s.enabled}


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{what}: {value!r} appears twice")
        seen.add(value)

"""Zalo OA access tokens: refreshed before they expire, once at a time, saved before use.

An access token lives about 25 h (`expires_in`, NOTES §3; older guides say 1 h, so the answer
is trusted, not a constant). A refresh token is single-use: once Zalo answers a refresh, the
token just sent is dead and the new one is the only way back in. So the new pair is saved
atomically (write, fsync, rename) before the old one is dropped from memory, and one lock
makes sure concurrent sends never refresh twice (the second refresh would spend the token
the first one just received, or present the dead one and lock the OA out).

A refresh that fails is logged as an error naming the problem; sends fail meanwhile with
`TokenUnavailable` (the core keeps the alerts and retries), and Zalo is asked again after
`refresh_retry` seconds at the earliest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from adapters.kit.files import save_atomically
from adapters.kit.settings import AdapterConfigError
from adapters.zalo_oa.api import Refreshed, ZaloOAError, ZaloOAUnreachable

log = logging.getLogger(__name__)

# When Zalo's answer carries no usable `expires_in`: the shortest lifetime ever documented.
FALLBACK_LIFETIME = 3600.0

Refresher = Callable[[str], Awaitable[Refreshed]]


class TokenUnavailable(Exception):
    """No valid access token: refreshing failed (the message says why)."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str | None = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # unix time; 0 when there is no access token yet
    lifetime: float  # seconds the access token was given for (`expires_in`)
    # Digest of the variable's refresh token this chain of refreshes started from: a different
    # token in the variable later means access was granted again, and it replaces the chain.
    origin: str

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
                "lifetime": self.lifetime,
                "origin": self.origin,
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> TokenPair:
        data = json.loads(raw)
        refresh = data["refresh_token"]
        access = data.get("access_token")
        if not isinstance(refresh, str) or not refresh:
            raise ValueError("no refresh_token")
        return cls(
            access_token=access if isinstance(access, str) and access else None,
            refresh_token=refresh,
            expires_at=float(data.get("expires_at") or 0),
            lifetime=float(data.get("lifetime") or 0),
            origin=str(data.get("origin") or ""),
        )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime(expires_in: object) -> float | None:
    """Seconds from `expires_in`, a string ("90000") or a number; None if unusable."""
    if isinstance(expires_in, bool):
        return None
    try:
        seconds = float(str(expires_in).strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def initial_pair(name: str, token_file: Path, env_token: str | None, env_name: str) -> TokenPair:
    """The saved pair, unless the variable holds a token the saved chain did not start from."""
    key = f"adapters.{name}"
    saved: TokenPair | None = None
    if token_file.exists():
        try:
            saved = TokenPair.from_json(token_file.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AdapterConfigError(
                f"{key}: the saved tokens in {token_file} cannot be read ({exc}); restore the "
                f"file, or delete it and put a new refresh token in {env_name}"
            ) from None
    if saved is not None and (env_token is None or digest(env_token) == saved.origin):
        return saved
    if env_token is None:
        raise AdapterConfigError(
            f"{key}.refresh_token_env: environment variable {env_name} is not set and no "
            f"token was saved in {token_file}; put the OA's refresh token in it"
        )
    if saved is not None:
        log.info(
            "zalo_oa %s: %s holds a new refresh token; it replaces the one saved in %s",
            name,
            env_name,
            token_file,
        )
    return TokenPair(None, env_token, 0.0, 0.0, digest(env_token))


class TokenKeeper:
    def __init__(
        self,
        name: str,
        pair: TokenPair,
        token_file: Path,
        refresher: Refresher,
        *,
        hint: str,
        margin: float,
        retry_after_failure: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._pair = pair
        self._file = token_file
        self._refresher = refresher
        self._hint = hint  # what an operator does when Zalo refuses the refresh token
        self._margin = margin
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._lock = asyncio.Lock()
        self._failed_at: float | None = None
        self._failure: str | None = None
        self.refreshes = 0

    @property
    def failure(self) -> str | None:
        """Why the last refresh failed, while it is not yet repaired."""
        return self._failure

    def _valid(self, pair: TokenPair) -> bool:
        return pair.access_token is not None and self._clock() < pair.expires_at

    def refresh_due_in(self) -> float:
        """Seconds until the access token should be refreshed (0: now)."""
        pair = self._pair
        if pair.access_token is None:
            return 0.0
        # At most half its lifetime early: a short-lived token is not refreshed constantly.
        margin = min(self._margin, pair.lifetime / 2) if pair.lifetime else self._margin
        return max(0.0, pair.expires_at - self._clock() - margin)

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire."""
        pair = self._pair
        if self.refresh_due_in() > 0:
            assert pair.access_token is not None
            return pair.access_token
        try:
            await self._refresh(pair.access_token, refused=False)
        except TokenUnavailable:
            if not self._valid(self._pair):
                raise
            # Near its end but still valid: used meanwhile; the failure is logged.
        token = self._pair.access_token
        assert token is not None
        return token

    async def refused(self, token: str) -> None:
        """Zalo answered -216 (invalid or expired) to `token`: refresh, unless another
        call already has since; raises `TokenUnavailable` when refreshing fails."""
        await self._refresh(token, refused=True)

    async def refresh_now(self) -> None:
        """Refresh if due (the background loop); raises `TokenUnavailable`."""
        await self._refresh(self._pair.access_token, refused=False)

    async def _refresh(self, seen: str | None, *, refused: bool) -> None:
        async with self._lock:
            current = self._pair
            if current.access_token != seen:
                return  # another call refreshed while this one waited for the lock
            if refused:
                # Dead whatever its expiry says: never handed out again.
                self._pair = current = dataclasses.replace(current, expires_at=0.0)
            elif self.refresh_due_in() > 0:
                return
            now = self._clock()
            if self._failed_at is not None and now - self._failed_at < self._retry_after_failure:
                raise TokenUnavailable(self._failure or "refreshing failed")
            try:
                answer = await self._refresher(current.refresh_token)
            except ZaloOAError as exc:
                raise self._failed(
                    f"Zalo refused to refresh the access token ({exc}); {self._hint}"
                ) from exc
            except ZaloOAUnreachable as exc:
                raise self._failed(f"cannot reach Zalo to refresh the access token: {exc}") from exc
            seconds = lifetime(answer.expires_in)
            if seconds is None:
                log.warning(
                    "zalo_oa %s: the refresh answer's expires_in %r is unusable; assuming %d s",
                    self.name,
                    answer.expires_in,
                    FALLBACK_LIFETIME,
                )
                seconds = FALLBACK_LIFETIME
            fresh = TokenPair(
                answer.access_token,
                # Zalo always sends the next one; without it the current one is all there is.
                answer.refresh_token or current.refresh_token,
                self._clock() + seconds,
                seconds,
                current.origin,
            )
            self._save(fresh)
            self._pair = fresh  # the old refresh token is dead: forgotten only now
            self.refreshes += 1
            if self._failure is not None:
                log.warning("zalo_oa %s: the access token was refreshed again", self.name)
            self._failed_at = self._failure = None
            log.info("zalo_oa %s: access token refreshed, valid for %d s", self.name, seconds)

    def _save(self, pair: TokenPair) -> None:
        try:
            save_atomically(self._file, pair.to_json())
        except OSError as exc:
            # Kept in memory anyway: the refresh token sent is dead, this is the only one left.
            log.error(
                "zalo_oa %s: the new refresh token could not be saved in %s (%s); it is kept "
                "in memory only, and a restart will need access granted again",
                self.name,
                self._file,
                exc,
            )

    def _failed(self, problem: str) -> TokenUnavailable:
        repeated = problem == self._failure
        self._failed_at = self._clock()
        self._failure = problem
        if not repeated:
            log.error(
                "zalo_oa %s: %s. Alerts are kept and sent once a token works again.",
                self.name,
                problem,
            )
        return TokenUnavailable(problem)

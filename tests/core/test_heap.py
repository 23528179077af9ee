"""Long-lived objects are set aside from the collector's passes; garbage is not."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from botkit.heap import freeze_long_lived


class Node:
    """An object in a reference cycle: only the collector frees it, never refcounting."""

    def __init__(self) -> None:
        self.me = self


def walked(obj: object) -> bool:
    """Whether the collector's passes still see `obj` (frozen objects are left out)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session runs as it did


def test_what_lives_is_set_aside_and_start_up_garbage_is_not() -> None:
    kept = Node()
    left_over = Node()
    gone = weakref.ref(left_over)
    del left_over
    frozen = freeze_long_lived()
    assert gone() is None  # collected first, not frozen for the life of the process
    assert frozen == gc.get_freeze_count() > 0
    assert not walked(kept)


def test_a_second_call_frees_what_the_first_froze_and_is_no_longer_used() -> None:
    replaced = Node()  # a reload's old pipeline, frozen at start
    old = weakref.ref(replaced)
    freeze_long_lived()
    del replaced
    gc.collect()
    assert old() is not None  # a frozen cycle outlives ordinary passes...
    freeze_long_lived()
    assert old() is None  # ...until the next call (after a reload) thaws and collects

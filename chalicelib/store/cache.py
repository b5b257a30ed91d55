"""What a Lambda container keeps in memory for a few seconds (form definitions, active models): one
object per kind, built and owned by the composition root (``wiring.deps()``), so ``wiring.reset()``
forgets it with every other adapter."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values read through :meth:`get`, kept for ``max_age`` seconds; a missing value (``None``) is
    not kept, so what is created meanwhile is found at once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kept: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[], V], max_age: float) -> V:
        kept = self._kept.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        value = load()
        if value is not None and max_age > 0:
            self._kept[key] = (self._clock() + max_age, value)
        return value

    def forget(self, key: K) -> None:
        self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()

"""Caps on long work in flight (exports, imports), per API key and per process: past a cap a
429 says how many are running and when to retry, before any connection is taken."""

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.errors import TooManyRequests


class Slots:
    """How many of one kind of work run now, by key; taken and given back in this process
    (each worker has its own, so a deployment's totals are these times its workers)."""

    def __init__(self, what: str, retry_after_s: int = 5) -> None:
        self.what = what
        self.retry_after_s = retry_after_s
        self.by_key: Counter[uuid.UUID] = Counter()

    @property
    def running(self) -> int:
        return sum(self.by_key.values())

    def take(self, key_id: uuid.UUID, per_key: int, total: int | None = None) -> None:
        """Take a slot, or 429 if the key or the process has as many as allowed."""
        if self.by_key[key_id] >= per_key:
            raise TooManyRequests(
                f"This key has {self.by_key[key_id]} {self.what} running, the most it may; "
                f"retry when one has finished.",
                self.retry_after_s,
            )
        if total is not None and self.running >= total:
            raise TooManyRequests(
                f"{self.running} {self.what} are running on this server, the most it takes "
                "at once; retry shortly.",
                self.retry_after_s,
            )
        self.by_key[key_id] += 1

    def give_back(self, key_id: uuid.UUID) -> None:
        self.by_key[key_id] -= 1
        if self.by_key[key_id] <= 0:
            del self.by_key[key_id]

    @contextmanager
    def held(self, key_id: uuid.UUID, per_key: int, total: int | None = None) -> Iterator[None]:
        self.take(key_id, per_key, total)
        try:
            yield
        finally:
            self.give_back(key_id)

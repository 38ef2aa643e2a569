"""Stats answers kept per process under their ETag: a dashboard's repeated question is
answered without asking the database again while the data stays the same."""

from collections import OrderedDict
from collections.abc import Hashable

# What an entry costs beyond its answer's bytes (the tag, the dictionary's slot): an empty
# answer (a tile with no event) must use room too, or a flood of distinct questions would
# keep them without bound.
ENTRY_BYTES = 256


class Answers:
    """Rendered answers (JSON bytes) by ETag, in at most max_bytes. When they would take more,
    the key whose answers take the most room gives up its least recently used first: one key
    asking many distinct questions pushes out its own answers, not every other dashboard's,
    and a service asking with one key for all its users may use the whole room. An answer
    counts against the key that asked it first (its owner), whoever asks it again.

    An ETag names the data version an answer was computed at (repository.data_version) and
    the question, so the same tag later means the same answer: exactly as fresh as the 304
    a client gets for its own copy. Only answers of transactions that wrote nothing are kept
    (service.etag says which): they hold committed data alone."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._answers: dict[str, tuple[bytes, Hashable]] = {}
        # Each owner's tags, least recently used first, and the room they take.
        self._owned: dict[Hashable, OrderedDict[str, None]] = {}
        self._owned_size: dict[Hashable, int] = {}

    def get(self, tag: str) -> bytes | None:
        entry = self._answers.get(tag)
        if entry is None:
            return None
        self._owned[entry[1]].move_to_end(tag)
        return entry[0]

    def keep(self, tag: str, answer: bytes, owner: Hashable) -> None:
        cost = ENTRY_BYTES + len(answer)
        # One answer may take a quarter of the room: a few huge ones must not push out all.
        if cost > self.max_bytes // 4:
            return
        if tag in self._answers:
            self._drop(tag)
        self._answers[tag] = (answer, owner)
        self._owned.setdefault(owner, OrderedDict())[tag] = None
        self._owned_size[owner] = self._owned_size.get(owner, 0) + cost
        self.size += cost
        while self.size > self.max_bytes:
            largest = max(self._owned_size, key=self._owned_size.__getitem__)
            self._drop(next(iter(self._owned[largest])))

    def _drop(self, tag: str) -> None:
        answer, owner = self._answers.pop(tag)
        cost = ENTRY_BYTES + len(answer)
        self.size -= cost
        owned = self._owned[owner]
        del owned[tag]
        self._owned_size[owner] -= cost
        if not owned:  # no bookkeeping left behind for a key with nothing kept
            del self._owned[owner], self._owned_size[owner]

    def __len__(self) -> int:
        return len(self._answers)

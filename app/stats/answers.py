"""Stats answers kept per process under their ETag: a dashboard's repeated question is
answered without asking the database again while the data stays the same."""

from collections import OrderedDict
from collections.abc import Hashable

# What an entry costs beyond its answer's bytes (the tag, the dictionary's slot): an empty
# answer (a tile with no event) must use room too, or a flood of distinct questions would
# keep them without bound.
ENTRY_BYTES = 256


# No one key's answers take more than this share of the room: a reader asking many distinct
# questions drops its own least recently used answers, not every other dashboard's.
OWNER_SHARE = 8


class Answers:
    """Rendered answers (JSON bytes) by ETag, the least recently used dropped past max_bytes,
    and a key's own least recently used past its share (OWNER_SHARE) of them.

    An ETag names the data version an answer was computed at (repository.data_version) and
    the question, so the same tag later means the same answer: exactly as fresh as the 304
    a client gets for its own copy. Only answers of transactions that wrote nothing are kept
    (service.etag says which): they hold committed data alone. An answer counts against the
    key that asked it first (its owner), whoever asks it again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.owner_max_bytes = max_bytes // OWNER_SHARE
        self.size = 0
        self._answers: OrderedDict[str, tuple[bytes, Hashable]] = OrderedDict()
        self._owned: dict[Hashable, OrderedDict[str, None]] = {}
        self._owned_size: dict[Hashable, int] = {}

    def get(self, tag: str) -> bytes | None:
        entry = self._answers.get(tag)
        if entry is None:
            return None
        self._answers.move_to_end(tag)
        self._owned[entry[1]].move_to_end(tag)
        return entry[0]

    def keep(self, tag: str, answer: bytes, owner: Hashable) -> None:
        cost = ENTRY_BYTES + len(answer)
        # One answer may take at most a key's share: a few huge ones must not push out all.
        if cost > self.owner_max_bytes:
            return
        if tag in self._answers:
            self._drop(tag)
        self._answers[tag] = (answer, owner)
        self._owned.setdefault(owner, OrderedDict())[tag] = None
        self._owned_size[owner] = self._owned_size.get(owner, 0) + cost
        self.size += cost
        owned = self._owned[owner]
        while self._owned_size[owner] > self.owner_max_bytes:
            self._drop(next(iter(owned)))
        while self.size > self.max_bytes:
            self._drop(next(iter(self._answers)))

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

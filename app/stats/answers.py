"""Stats answers kept per process under their ETag: a dashboard's repeated question is
answered without asking the database again while the data stays the same."""

from collections import OrderedDict

# What an entry costs beyond its answer's bytes (the tag, the dictionary's slot): an empty
# answer (a tile with no event) must use room too, or a flood of distinct questions would
# keep them without bound.
ENTRY_BYTES = 256


class Answers:
    """Rendered answers (JSON bytes) by ETag, the least recently used dropped past max_bytes.

    An ETag names the data version an answer was computed at (repository.data_version) and
    the question, so the same tag later means the same answer: exactly as fresh as the 304
    a client gets for its own copy. Only answers of transactions that wrote nothing are kept
    (service.etag says which): they hold committed data alone."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._answers: OrderedDict[str, bytes] = OrderedDict()

    def get(self, tag: str) -> bytes | None:
        answer = self._answers.get(tag)
        if answer is not None:
            self._answers.move_to_end(tag)
        return answer

    def keep(self, tag: str, answer: bytes) -> None:
        # One answer may take a quarter of the room: a few huge ones must not push out all.
        if ENTRY_BYTES + len(answer) > self.max_bytes // 4:
            return
        replaced = self._answers.pop(tag, None)
        if replaced is not None:
            self.size -= ENTRY_BYTES + len(replaced)
        self._answers[tag] = answer
        self.size += ENTRY_BYTES + len(answer)
        while self.size > self.max_bytes:
            _, dropped = self._answers.popitem(last=False)
            self.size -= ENTRY_BYTES + len(dropped)

    def __len__(self) -> int:
        return len(self._answers)

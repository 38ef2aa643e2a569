"""The export response: a stream that gives up on a client that stopped reading."""

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

log = logging.getLogger("app.exports")
# How long closing an export's COPY may take before it is left to the garbage collector.
CLOSE_TIMEOUT_S = 10


class ExportResponse(StreamingResponse):
    """A StreamingResponse whose every write must be taken by the client within
    idle_timeout_s: a client that reads nothing holds its export's PostgreSQL connection no
    longer than that. on_close runs once the response ends, however it ends."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        *,
        idle_timeout_s: float,
        on_close: Callable[[], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self.idle_timeout_s = idle_timeout_s
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_or_give_up(message: Message) -> None:
            # The server's send waits while the client's socket buffer is full.
            with anyio.fail_after(self.idle_timeout_s):
                await send(message)

        try:
            await super().__call__(scope, receive, send_or_give_up)
        except TimeoutError:
            # The body is cut short: the client sees the transfer end early, never a file
            # that looks whole; the COPY is cancelled as the body iterator closes.
            log.warning("export cut off: the client read nothing for %s s", self.idle_timeout_s)
        finally:
            try:
                # Ends the COPY and closes its connection now, not when the generator is
                # collected; shielded, so a shutdown's cancellation cannot leave it half done.
                with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S):
                    await self.body_iterator.aclose()  # type: ignore[attr-defined]
            finally:
                self.on_close()

"""Pure ASGI middleware (BaseHTTPMiddleware costs a third of the throughput)."""

import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import logs
from app.core.errors import problem_response


class BodySizeLimit:
    """413 for bodies over the limit, decided on Content-Length or while streaming, never
    after reading the whole body into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        # Paths (prefixes) with a limit of their own, such as bulk imports.
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.default_max_bytes
        for prefix, limit in self.larger.items():
            if scope["path"].startswith(prefix):
                max_bytes = limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await self._reject(scope, receive, send, 400, "Content-Length is not valid.")
                    return
                if declared > max_bytes:
                    await self._reject(scope, receive, send, 413, self._too_large(max_bytes))
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # An HTTPException passes through FastAPI's body parsing untouched
                    # and reaches the problem+json handler.
                    raise HTTPException(413, self._too_large(max_bytes))
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    def _too_large(max_bytes: int) -> str:
        return f"The request body is over the {max_bytes} byte limit."

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        title = "Content Too Large" if status == 413 else "Bad Request"
        response = problem_response(status, title, detail, {"Connection": "close"})
        await response(scope, receive, send)


class RequestId:
    """Give every request an id (or keep the caller's X-Request-ID) and echo it back, with
    the WAL position of its write (X-Incidents-LSN) and where its read ran."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:100]
                break
        if not request_id or not request_id.isprintable():
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        logs.request_id.set(request_id)
        header = (b"x-request-id", request_id.encode("latin-1"))

        state = scope["state"]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), header]
                # Set by the session dependencies (core.db, core.replica) before the response.
                if lsn := state.get("write_lsn"):
                    headers.append((b"x-incidents-lsn", lsn.encode()))
                if read_from := state.get("read_from"):
                    headers.append((b"x-incidents-read-from", read_from.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)

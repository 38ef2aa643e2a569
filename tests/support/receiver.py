"""A webhook receiver on loopback for tests: a real HTTP/1.1 server (asyncio streams) that
records every request and answers as the test says (a status, after a delay)."""

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    # When it arrived (time.monotonic()).
    at: float = 0.0

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """answer(request number, starting at 1) -> (status, delay in seconds)."""

    answer: Callable[[int], tuple[int, float]] = lambda n: (200, 0.0)
    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    port: int = 0
    # While set to an unset Event, every answer waits for it (a receiver that hangs).
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> "Receiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening (the port stays this receiver's: start() takes it again)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Received(headers, body, time.monotonic())
            self.received.append(request)
            status, delay = self.answer(len(self.received))
            if delay:
                await asyncio.sleep(delay)
            if self.hold is not None:
                await self.hold.wait()
            if 200 <= status < 300:
                self.accepted.append(request)
            self.arrived.set()
            reply = b'{"ok": true}' if status < 300 else b"x" * 5000
            writer.write(
                f"HTTP/1.1 {status} Status\r\nContent-Length: {len(reply)}\r\n"
                "Content-Type: application/json\r\nConnection: close\r\n\r\n".encode()
                + reply
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, until: Callable[["Receiver"], bool], guard_s: float = 120) -> None:
        """Wait until `until(self)` holds (guard_s only guards against hanging)."""
        async with asyncio.timeout(guard_s):
            while not until(self):
                self.arrived.clear()
                await self.arrived.wait()

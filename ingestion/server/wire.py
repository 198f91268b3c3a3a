"""Writing many WebSocket messages with one system call.

When a group commit resolves, many acks of a connection are due at once. websockets writes each
frame to the socket separately; `CoalescingConnection` joins the frames that are due into one
write, and `send_many` queues several messages under one flow-control check. On loopback, the
syscall and the wake-up of the reader cost more than building an ack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from websockets.asyncio.server import ServerConnection


class CoalescingConnection(ServerConnection):
    def send_data(self) -> None:
        chunks = self.protocol.data_to_send()
        if chunks and all(chunks):  # an empty chunk means end of stream: see below
            self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            return
        for data in chunks:  # as websockets does
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                with contextlib.suppress(Exception):  # as websockets: best effort
                    self.transport.write_eof()
            else:  # pragma: no cover - only with TLS
                self.transport.close()


async def send_many(ws: ServerConnection, messages: Sequence[bytes]) -> None:
    """Send UTF-8 encoded messages as text frames, in order, written together."""
    async with ws.send_context():
        for message in messages:
            ws.protocol.send_text(message)

"""The web server: Daphne, with request bodies capped before they are read.

    python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application

takes Daphne's own arguments. Daphne (through Twisted) reads a whole request body into memory, or
a temporary file past 100 kB, before it calls the application, so an ASGI middleware alone would
answer a 200 MB body only once all of it had been stored. Here the request asks its route's cap
(core.limits.body_cap_for) as soon as its headers are in, holds the body back meanwhile, and
answers a JSON 413 and closes the connection when the declared length, or the count of a body sent
without one, passes the cap.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from urllib.parse import unquote

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest

from core.limits import body_cap_for, refusal_body

logger = logging.getLogger("config.serve")


class CappedWebRequest(WebRequest):
    cap_scope: dict = {}  # replaced per request before it is read
    body_cap: int | None = None
    body_received = 0
    body_refused = False
    _process_waiting = False

    def gotLength(self, length):
        super().gotLength(length)
        if length == 0:
            self.body_cap = 0  # no body: nothing to ask
            return
        # Hold the rest of the body in the socket until the cap is known.
        self.channel._networkProducer.pauseProducing()
        # Kept: once the whole body is in, Twisted drops the channel's method and path (allContentReceived).
        self.cap_scope = self._cap_scope()
        future = asyncio.ensure_future(body_cap_for(self.cap_scope))
        future.add_done_callback(lambda done: self._cap_known(done, length))

    def _cap_scope(self) -> dict:
        """The parts of the ASGI scope a cap may look at (the application gets Daphne's full one).
        Twisted sets the request's own method and path only once the body is in: the channel has them."""
        path, _, query = self.channel._path.partition(b"?")
        headers = [(name.lower(), value) for name, values in self.requestHeaders.getAllRawHeaders() for value in values]
        peer = self.client
        return {
            "type": "http",
            "method": self.channel._command.decode("ascii", "replace"),
            "path": unquote(path.decode("ascii", "replace")),
            "query_string": query,
            "headers": headers,
            "client": [str(peer.host), peer.port] if hasattr(peer, "host") else None,
        }

    def _cap_known(self, future: asyncio.Future, length: int | None) -> None:
        if self.finished or self.channel is None:
            return  # the client went away meanwhile
        try:
            self.body_cap = future.result()
        except Exception:
            logger.exception("body_cap_failed path=%s", self.cap_scope["path"][:200])
            self._refuse(status=503, body=b'{"error": "the request could not be checked; try again."}')
            return
        if (length is not None and length > self.body_cap) or self.body_received > self.body_cap:
            self._refuse(status=413, body=refusal_body(cap=self.body_cap))
            return
        self.channel._networkProducer.resumeProducing()
        if self._process_waiting:
            self._process_waiting = False
            super().process()

    def handleContentChunk(self, data):
        if self.body_refused:
            return  # read and dropped until the connection closes
        self.body_received += len(data)
        if self.body_cap is not None and self.body_received > self.body_cap:
            self._refuse(status=413, body=refusal_body(cap=self.body_cap))
            return
        super().handleContentChunk(data)

    def process(self):
        if self.body_refused:
            return None
        if self.body_cap is None:
            self._process_waiting = True  # the whole body came with the headers: wait for the cap
            return None
        return super().process()

    def _refuse(self, *, status: int, body: bytes) -> None:
        self.body_refused = True
        logger.warning(
            "body_refused path=%s declared=%s received=%d cap=%s",
            self.cap_scope["path"][:200],
            self.requestHeaders.getRawHeaders(b"content-length", [b"-"])[0].decode("ascii", "replace"),
            self.body_received,
            self.body_cap,
        )
        self.content.close()
        channel = self.channel
        channel._networkProducer.resumeProducing()  # keep reading (and dropping) so the answer is not lost to a reset
        reason = b"Payload Too Large" if status == 413 else b"Service Unavailable"
        channel.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, reason, len(body), body)
        )
        channel.transport.loseConnection()


class CappedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = CappedWebRequest
        return protocol


PROXY_HEADER_FLAGS = ("--proxy-headers", "--proxy-headers-host", "--proxy-headers-port")


def main(argv: list[str]) -> None:
    if flags := [arg for arg in argv if arg.split("=", 1)[0] in PROXY_HEADER_FLAGS]:
        # Daphne would take the first X-Forwarded-For address, which the client writes.
        sys.exit(
            f"config.serve: {flags[0]} is not taken: the client's address comes from TRUSTED_PROXIES "
            "(core/addresses.py), which believes X-Forwarded-For from the proxies named there only."
        )
    # daphne.server.Server.run builds its factory from this module-level name.
    daphne_server.HTTPFactory = CappedHTTPFactory
    CommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

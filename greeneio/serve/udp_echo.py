"""udp-echo (RFC 862 over UDP): every datagram is sent back to its sender."""

from __future__ import annotations

from greeneio import Net
from greeneio.protocols import DatagramSocket

MAX_DATAGRAM = 65535


def serve(sock: DatagramSocket) -> None:
    """Echo datagrams on ``sock`` until cancelled."""
    buf = bytearray(MAX_DATAGRAM)
    view = memoryview(buf)
    while True:
        sender, n = Net.recv(sock, buf)
        Net.send(sock, [view[:n]], dst=sender)

"""Networking (Eio's ``Net``): addresses so far; sockets come next.

``Net.Ipaddr`` and ``Net.Sockaddr`` are immutable, hashable values that work
with ``match``.
"""

from greeneio.net import sockaddr as Sockaddr
from greeneio.net.ipaddr import Ipaddr

__all__ = ("Ipaddr", "Sockaddr")

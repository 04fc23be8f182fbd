"""UDP in one program: a server fiber answers pings, a client sends three.

python examples/udp_ping.py
"""

from __future__ import annotations

from greeneio import Fiber, Net, Switch, run


def main(env) -> None:
    with Switch() as sw:
        server = Net.datagram_socket(env.net, Net.Sockaddr.Udp(Net.Ipaddr.V4.loopback, 0), sw=sw)
        client = Net.datagram_socket(env.net, Net.Sockaddr.UdpV4, sw=sw)

        def serve() -> None:
            buf = bytearray(1500)
            while True:
                sender, n = Net.recv(server, buf)
                Net.send(server, [b"pong: ", bytes(buf[:n])], dst=sender)

        Fiber.fork_daemon(serve, sw=sw)  # cancelled when main is done
        addr = _address_of(server)
        buf = bytearray(1500)
        for i in range(3):
            Net.send(client, f"ping {i}".encode(), dst=addr)
            _, n = Net.recv(client, buf)
            print(buf[:n].decode())


def _address_of(sock) -> Net.Sockaddr.Udp:
    import socket

    view = socket.socket(fileno=Net.fd(sock))
    try:
        host, port = view.getsockname()
    finally:
        view.detach()
    return Net.Sockaddr.Udp(Net.Ipaddr.parse(host), port)


if __name__ == "__main__":
    run(main)

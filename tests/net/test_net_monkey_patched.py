"""Net works the same when gevent.monkey.patch_all() has been called."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(30)

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import os, socket, tempfile
    import greeneio
    from greeneio import Fiber, Flow, Fs, Net, Switch

    def main(env):
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0),
                                sw=sw, backlog=5)
            addr = Net.listening_addr(server)
            path = os.path.join(tempfile.mkdtemp(), "data")
            with open(path, "wb") as f:
                f.write(b"z" * 3_000_000)

            def serve():
                def handler(flow, _):
                    Flow.copy(Fs.open_in(path, sw=sw), flow)
                Net.accept_fork(server, handler, sw=sw, on_error=print)

            def fetch():
                flow = Net.connect(env.net, addr, sw=sw)
                return len(Flow.read_all(flow))

            # A stdlib socket (patched by gevent) imported into greeneio.
            a, b = socket.socketpair()
            pa = Net.import_socket_stream(a, sw=sw)
            b.sendall(b"from patched stdlib")
            b.close()
            got = Flow.read_all(pa)
            _, n = Fiber.pair(serve, fetch)
            return n, got

    print(greeneio.run(main))
    """
)


def test_net_under_patch_all():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(3000000, b'from patched stdlib')"

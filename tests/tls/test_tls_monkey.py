"""TLS with ``gevent.monkey.patch_all()`` called before or after ``import
greeneio`` (in subprocesses, every warning an error): greeneio does not import
``ssl`` early, so gevent has nothing to warn about, and sessions work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trustme

pytestmark = pytest.mark.timeout(60)

SESSION = """
import ssl
from greeneio import Fiber, Flow, Net, Switch, run
import greeneio.tls as Tls

def main(env):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(CERT)
    client_ctx = ssl.create_default_context(cafile=CA)
    with Switch() as sw:
        a, b = Net.socketpair_stream(sw=sw)
        c, s = Fiber.pair(
            lambda: Tls.client_of_flow(a, host="localhost", context=client_ctx),
            lambda: Tls.server_of_flow(b, context=server_ctx),
        )
        Flow.copy_string("patched", c)
        Flow.shutdown(c, "send")
        got = Flow.read_all(s)
        c.close()
        s.close()
        return got

print(run(main).decode())
"""


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA, server_cert) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("pems")
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    return str(d / "server.pem"), str(d / "ca.pem")


@pytest.mark.parametrize(
    "prelude",
    [
        "import gevent.monkey; gevent.monkey.patch_all()\nimport greeneio\n",
        "import greeneio, greeneio.tls\nimport gevent.monkey; gevent.monkey.patch_all()\n",
    ],
    ids=["patch-then-import", "import-then-patch"],
)
def test_tls_works_with_patch_all_before_or_after_import(prelude, pems, tmp_path: Path):
    cert, ca_file = pems
    script = tmp_path / "s.py"
    script.write_text(prelude + f"CERT, CA = {cert!r}, {ca_file!r}\n" + textwrap.dedent(SESSION))
    out = subprocess.run(
        [sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=50
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "patched\n"
    assert "MonkeyPatchWarning" not in out.stderr

"""A tiny Flask app served by greeneio's WSGI server.

    greeneio-serve wsgi examples.flask_app:app --listen tcp:127.0.0.1:8000
    greeneio-serve wsgi examples/flask_app.py:app
    python examples/flask_app.py [tcp:127.0.0.1:8000]

Try ``curl localhost:8000/``, ``curl -d '{"n": 1}' -H 'Content-Type:
application/json' localhost:8000/echo`` and ``curl -N localhost:8000/count``.
Run directly, it serves until SIGTERM (a graceful drain) or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import sys

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello from Flask on greeneio!\n"


@app.post("/echo")
def echo():
    return jsonify(got=request.get_json(), length=request.content_length)


@app.get("/count")
def count():
    n = request.args.get("n", 3, type=int)
    return Response((f"{i}\n" for i in range(n)), mimetype="text/plain")


def main(env, text="tcp:127.0.0.1:8000"):
    from greeneio import Net, Promise, Signal, Switch, traceln, wsgi

    stop, set_stop = Promise.create()
    with Switch() as sw:
        sock = Net.listen(env.net, Net.Sockaddr.parse(text), sw=sw, backlog=128, reuse_addr=True)
        traceln("flask app on %s", Net.listening_addr(sock))
        Signal.subscribe(
            env.signals, signal.SIGTERM, lambda _: Promise.try_resolve(set_stop, None), sw=sw
        )
        handler = wsgi.handler(app, clock=env.mono_clock, stop=stop)
        Net.run_server(sock, handler, on_error=print, max_connections=1000, stop=stop, grace=5)
        traceln("stopped")


if __name__ == "__main__":
    import greeneio

    with contextlib.suppress(KeyboardInterrupt):
        greeneio.run(lambda env: main(env, *sys.argv[1:2]))

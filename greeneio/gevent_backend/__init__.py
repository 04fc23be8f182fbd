"""The real backend: clocks, stdio, (and sockets) on gevent.

Only ``greeneio.run`` imports this package.
"""

from greeneio.gevent_backend._env import Env, make_env

__all__ = ["Env", "make_env"]

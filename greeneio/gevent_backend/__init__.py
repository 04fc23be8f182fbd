"""The real backend: the gevent hub's scheduler, sockets, clocks, stdio,
files and worker processes.

Only ``greeneio.run`` loads it (when called); the API reaches it through the
objects it provides (``env``, and the scheduler's ``unix``).
"""

from greeneio.gevent_backend._env import Env, make_env

__all__ = ["Env", "make_env"]

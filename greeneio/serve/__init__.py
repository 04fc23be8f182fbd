"""``greeneio-serve``: demo and real services on ``Net.run_server``.

Each service is a small module using only the public API: ``echo``,
``discard``, ``chargen``, ``daytime``, ``udp_echo``, ``http``, ``proxy``,
``app``. ``__main__`` parses the command line and runs them.
"""

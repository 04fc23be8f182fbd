"""Structured concurrency: cancel contexts, switches, fibers, promises, errors.

Knows nothing of sockets. Only ``_greenlet.py`` touches greenlet and gevent.
"""

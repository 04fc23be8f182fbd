"""What an executor pool and its workers share (``greeneio.executor_pool``):
``_link`` (frames over a socket pair or queues) and ``_worker`` (the worker's
main). Not public."""

"""A small bounded pool for sending Graph requests concurrently (``GraphClient`` is thread-safe).

Most of a capture's time at Intune's limits is spent waiting: for an answer, or for the pacer to
free a slot. ``RequestWorkers`` keeps a few requests in flight at once so that waiting for one
answer overlaps the others and the caller's own work (building items, writing them to the
database). The pacers shared by the client decide how many requests may go out; the pool only
bounds how many threads wait for them.

``RequestWorkers(1)`` runs every task at once in the calling thread, in the order submitted:
the same requests in the same order as a plain loop (useful to compare, and where threads are
not wanted).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["DEFAULT_REQUEST_WORKERS", "RequestWorkers"]

#: Requests a capture keeps in flight by default. A few are enough to keep Intune's request
#: budget (1,000 per 20 s) busy from one machine; more mostly adds threads waiting on the pacer.
DEFAULT_REQUEST_WORKERS = 6

_P = ParamSpec("_P")
_T = TypeVar("_T")


class RequestWorkers:
    """At most ``size`` tasks run at once, each on a worker thread with a copy of the
    submitting thread's context (``graph_requests_counted`` keeps counting what they send).

    Use it as a context manager. Leaving the block normally waits for the tasks still running;
    leaving it with an exception (or closing a generator that uses it) cancels the tasks not
    started and does not wait for the running ones, which end with their current request.
    """

    def __init__(self, size: int, *, name: str = "graph-worker") -> None:
        if size < 1:
            raise ValueError(f"RequestWorkers needs at least 1 worker, not {size}")
        self.size = size
        self._executor = (
            ThreadPoolExecutor(max_workers=size, thread_name_prefix=name) if size > 1 else None
        )

    def __repr__(self) -> str:
        return f"RequestWorkers(size={self.size})"

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        if self._executor is None:
            future: Future[_T] = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except Exception as exc:  # delivered through the future, like a worker's
                future.set_exception(exc)
            return future
        context = contextvars.copy_context()

        def call() -> _T:
            return context.run(fn, *args, **kwargs)

        return self._executor.submit(call)

    def close(self, *, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> RequestWorkers:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.close(wait=exc_type is None)

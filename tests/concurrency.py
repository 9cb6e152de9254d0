"""Running the same code from several threads at the same moment, each with its own database
connection: how the tests show that claims and imports hold up under real concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_at_once(target: Callable[[int], None], *, threads: int, timeout: float = 60) -> None:
    """Start ``target(i)`` on ``threads`` threads released together by a barrier; wait for all.
    An exception in any thread is raised here after they are done."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()  # each thread's own connection

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]

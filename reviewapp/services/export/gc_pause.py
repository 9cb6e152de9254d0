"""Python's cyclic garbage collector paused while an export runs, when that affects nothing else.

Why pause it: a row is a few dozen small dicts and lists; the collector kept scanning them
(and, in full collections, the whole Django process) though they hold no reference cycles:
refcounting frees each row once it is written. In a Parquet export, which keeps CHUNK rows
alive at a time, the collections run while JSON is parsed more than doubled the parsing time.
Pausing is safe for the export itself: its rows make no garbage only the collector could free.

Why only when the export is the process's only thread: ``gc.disable()`` is process-wide. In a
threaded web worker (the dev server, gunicorn ``--threads``, an ASGI server's sync-view
threads) it would stop collection for every other request too, for as long as the export
runs, so their cyclic garbage would pile up. So the collector is paused only when no other
thread exists when the export starts: the management command, the benchmark's child, a
single-threaded worker serving this one request; elsewhere the export runs with the collector
on (slower in Parquet, same output). Nothing on the export's path starts a thread, and a
process whose only thread is busy exporting cannot start one either, except from a signal
handler or a library's callback: the guarantee is "no thread that existed when the export
started is affected", and the collector is back on as soon as the export ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused_if_only_thread() -> Iterator[bool]:
    """Collector off inside, if this is the process's only thread and it was on (else left as
    it is); yields whether it paused."""
    if threading.active_count() != 1 or not gc.isenabled():
        yield False
        return
    gc.disable()
    try:
        yield True
    finally:
        gc.enable()

"""Parsing in a child process, under a time and memory limit.

A hostile file (a PDF that makes the parser loop, a document that expands in memory) must not
take down the web worker or the CLI. The parent keeps a small pool of parser processes started
from a fork server (safe in threaded servers); when a parse overruns, the pool is killed and a new
one is started for the next file.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.pool
import resource
import threading
from dataclasses import dataclass

from reviewapp.importing import errors
from reviewapp.importing.errors import ImportRejected
from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import ParsedPlan, parse_plan


@dataclass(frozen=True)
class SandboxLimits:
    timeout_seconds: float = 30.0
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 2


_lock = threading.Lock()
_pool: multiprocessing.pool.Pool | None = None
_pool_key: tuple[int, int] | None = None


def _limit_memory(memory_bytes: int) -> None:
    # Address space, not RSS: the only limit the kernel enforces on every allocation.
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _parse_in_child(name: str, data: bytes, limits: Limits) -> ParsedPlan | str:
    """Runs in the child. Returns the plan, or the rejection message (exceptions don't pickle
    reliably across every failure mode, plain strings do)."""
    try:
        return parse_plan(name, data, limits)
    except ImportRejected as exc:
        return "rejected:" + str(exc)
    except MemoryError:
        return "rejected:" + errors.PARSE_OUT_OF_MEMORY
    except RecursionError:
        return "rejected:" + errors.PARSE_CRASHED.format(detail="the document nests too deeply")


def _get_pool(sandbox: SandboxLimits) -> multiprocessing.pool.Pool:
    global _pool, _pool_key
    key = (sandbox.processes, sandbox.memory_bytes)
    if _pool is None or _pool_key != key:
        if _pool is not None:
            _pool.terminate()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["reviewapp.importing.parsing"])
        _pool = context.Pool(
            processes=sandbox.processes,
            initializer=_limit_memory,
            initargs=(sandbox.memory_bytes,),
            maxtasksperchild=200,
        )
        _pool_key = key
    return _pool


# Shut the pool down before interpreter teardown, not from Pool.__del__ when modules are gone.
atexit.register(lambda: _reset_pool())


def _reset_pool() -> None:
    global _pool, _pool_key
    if _pool is not None:
        _pool.terminate()
        _pool.join()
    _pool = None
    _pool_key = None


def parse_many(
    files: list[tuple[str, bytes]], limits: Limits, sandbox: SandboxLimits
) -> list[ParsedPlan | ImportRejected]:
    """Parse files in parallel child processes; each result is a plan or the rejection."""
    with _lock:
        pool = _get_pool(sandbox)
        pending = [pool.apply_async(_parse_in_child, (name, data, limits)) for name, data in files]
        results: list[ParsedPlan | ImportRejected] = []
        for async_result in pending:
            try:
                outcome = async_result.get(timeout=sandbox.timeout_seconds)
            except multiprocessing.TimeoutError:
                outcome = "rejected:" + errors.PARSE_TIMEOUT.format(seconds=sandbox.timeout_seconds)
                # The runaway child still holds a worker: kill the pool; later files get a new one.
                _reset_pool()
                pool = _get_pool(sandbox)
                # Files queued on the dead pool are resubmitted on the new one.
                index = len(results) + 1
                pending[index:] = [
                    pool.apply_async(_parse_in_child, (name, data, limits))
                    for name, data in files[index:]
                ]
            except Exception as exc:  # the child died (killed by the OOM killer, segfault…)
                outcome = "rejected:" + errors.PARSE_CRASHED.format(
                    detail=exc or type(exc).__name__
                )
                _reset_pool()
                pool = _get_pool(sandbox)
                index = len(results) + 1
                pending[index:] = [
                    pool.apply_async(_parse_in_child, (name, data, limits))
                    for name, data in files[index:]
                ]
            if isinstance(outcome, str):
                results.append(ImportRejected(outcome.removeprefix("rejected:")))
            else:
                results.append(outcome)
        return results

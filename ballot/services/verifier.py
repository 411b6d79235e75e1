"""Ballot verification outside the serving threads' GIL (issue 19): a pool of verifier processes
for ``ballot serve``.

Verifying a 15 x 4 ballot is ~75 ms of libsodium calls, each of which releases and retakes the
GIL; on 8 waitress threads in one process that costs more CPU per ballot than on one. With the
pool (``ballot serve --verify-processes N``, default one per core) a serving thread hands the
parsed ballot and the poll's context to a process and waits for its answer; the thread itself
only parses, checks the cheap things and writes to the database. Without the pool (``0``, the
tests, ``flask run``) the thread verifies itself, as before. The answer is the same either way:
the VerifiedBallot, or the BallotError naming what fails.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tally.ballots import PollContext, VerifiedBallot, verify_ballot

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def start(processes: int) -> None:
    """Start ``processes`` verifier processes (forkserver: never a fork of a threaded server)."""
    global _pool
    with _lock:
        if _pool is not None or processes <= 0:
            return
        context = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(processes, mp_context=context)
        # Start them now, not on the first ballot of the hall.
        for future in [_pool.submit(_warm) for _ in range(processes)]:
            future.result()


def stop() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def _warm() -> None:
    """Import the cryptography in the worker before any ballot arrives."""
    import tally.ballots  # noqa: F401


def running() -> bool:
    return _pool is not None


def verify(ctx: PollContext, ballot: Any) -> VerifiedBallot:
    """``verify_ballot(ctx, ballot)``, in a verifier process when the pool runs."""
    pool = _pool
    if pool is None:
        return verify_ballot(ctx, ballot)
    return pool.submit(verify_ballot, ctx, ballot).result()

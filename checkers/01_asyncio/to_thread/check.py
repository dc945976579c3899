"""Checks for asyncio/to_thread: `hash_all(passwords, hash_fn)`.

`hash_fn` is the checker's own blocking function (time.sleep stands for CPU work or blocking I/O), wrapped
in course.probes.ThreadCounter: it counts the calls, how many run at once and on which threads. Whether
the event loop stays free is measured with course.probes.LoopLag, a heartbeat whose worst delay shows how
long the loop was blocked, against a threshold several times away from what a blocking version shows.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from course.checking import describe, expect, fail, flatten, raises
from course.probes import LoopLag, ThreadCounter

REQUIRES = {"hash_all": "async def hash_all(passwords, hash_fn)"}
LESSON = "See notebook 01_asyncio/03, 'Offloading blocking work'."
BLOCK = 0.2  # seconds each call blocks in the lag and concurrency checks


def _hash(password: str) -> str:
    return f"hash({password})"


def blocking(delays: dict[str, float] | float) -> Callable[[str], str]:
    """A hash_fn that blocks its thread (time.sleep) for a set time, per password or for all."""

    def hash_fn(password: str) -> str:
        time.sleep(delays[password] if isinstance(delays, dict) else delays)
        return _hash(password)

    return hash_fn


def _passwords(n: int) -> list[str]:
    return [f"pw{i}" for i in range(n)]


async def _run(sub, passwords: list[str], hash_fn: Callable[[str], str], shown: str, within: float = 5) -> Any:
    """hash_all's value; its own exception (with its traceback) if it raised; a failure if it hangs."""
    task = asyncio.create_task(sub.hash_all(passwords, hash_fn))
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        task.cancel()
        fail(f"Called {shown}: it had not returned {within:g} s later. {LESSON}")
    return task.result()


async def test_an_empty_list_gives_an_empty_list(sub):
    counter = ThreadCounter(blocking(0.0))
    result = await _run(sub, [], counter, "hash_all([], hash_fn)")
    expect(result == [], f"Called hash_all([], hash_fn): got {result!r}, expected [].")
    expect(counter.calls == 0, f"Called hash_all([], hash_fn): hash_fn was called {counter.calls} time(s), expected 0.")


async def test_hashes_come_back_in_input_order(sub):
    passwords = _passwords(6)
    # Later passwords finish first (50 ms apart), so the order of finishing is the reverse of the input.
    delays = {p: 0.05 * (len(passwords) - 1 - i) for i, p in enumerate(passwords)}
    shown = f"hash_all({passwords!r}, hash_fn) where later passwords take less time"
    result = await _run(sub, passwords, blocking(delays), shown)
    expected = [_hash(p) for p in passwords]
    expect(result == expected,
           f"Called {shown}: got {result!r}, expected {expected!r} (input order, not the order the calls "
           f"finished). {LESSON}")


async def test_the_event_loop_stays_responsive(sub):
    passwords = _passwords(6)
    shown = f"hash_all(6 passwords, hash_fn) where each hash_fn call blocks its thread for {BLOCK:g} s"
    async with LoopLag() as lag:
        result = await _run(sub, passwords, blocking(BLOCK), shown)
        # A beat delayed by a blocked loop is recorded when it wakes up: let it, before the heartbeat stops.
        await asyncio.sleep(0.05)
    expect(result == [_hash(p) for p in passwords], f"Called {shown}: got {result!r}, expected the 6 hashes in order.")
    # Calling hash_fn on the loop blocks it for 0.2 s at least (1.2 s if all six run there); a loop left free
    # stays in the tens of milliseconds even on a busy machine. 0.1 s is twice away from the blocked case.
    expect(lag.max_lag < 0.1,
           f"Called {shown}: meanwhile a heartbeat task on the event loop was delayed by up to {lag.max_lag:.2f} s, "
           f"expected under 0.1 s. hash_fn blocks: while it runs on the event loop's thread, no other task can run "
           f"(an `async def` around it changes nothing). Run each call in a worker thread. {LESSON}")


async def test_hash_fn_runs_in_worker_threads(sub):
    passwords = _passwords(4)
    counter = ThreadCounter(blocking(0.05))
    await _run(sub, passwords, counter, "hash_all(4 passwords, hash_fn)")
    loop_thread = threading.get_ident()
    expect(counter.calls > 0, "Called hash_all(4 passwords, hash_fn): hash_fn was never called.")
    expect(loop_thread not in counter.threads,
           "Called hash_all(4 passwords, hash_fn): hash_fn ran on the event loop's own thread, which it blocks for "
           f"as long as each call lasts. Run each call in a worker thread. {LESSON}")


async def test_calls_run_concurrently(sub):
    passwords = _passwords(6)
    counter = ThreadCounter(blocking(BLOCK))
    shown = f"hash_all(6 passwords, hash_fn) where each hash_fn call blocks its thread for {BLOCK:g} s"
    result = await _run(sub, passwords, counter, shown)
    expect(result == [_hash(p) for p in passwords], f"Called {shown}: got {result!r}, expected the 6 hashes in order.")
    # Counted, not timed: a version that waits for each call before starting the next never has 2 at once.
    expect(counter.peak >= 2,
           f"Called {shown}: at most {counter.peak} call(s) of hash_fn ran at once, expected several (the 6 calls "
           f"took 6 x {BLOCK:g} s one after another). Start every call before awaiting any of them. {LESSON}")


async def test_every_password_is_hashed_exactly_once(sub):
    passwords = ["correct horse", "hunter2", "", "p@ss wörd", "123456", "letmein", "Tr0ub4dor&3", "zz"]
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def hash_fn(password: str) -> str:
        with lock:
            calls[password] += 1
        time.sleep(0.02)
        return _hash(password)

    shown = f"hash_all({passwords!r}, hash_fn)"
    result = await _run(sub, passwords, hash_fn, shown)
    wrong = {p: calls[p] for p in passwords if calls[p] != 1}
    extra = sorted(set(calls) - set(passwords))
    expect(not wrong and not extra,
           f"Called {shown}: hash_fn was called {dict(calls)!r} times per password, expected exactly once for each "
           f"password{f' (and never with {extra!r})' if extra else ''}.")
    expect(result == [_hash(p) for p in passwords],
           f"Called {shown}: got {result!r}, expected {[_hash(p) for p in passwords]!r}.")


async def test_an_exception_from_hash_fn_propagates(sub):
    passwords = _passwords(4)
    bad = ValueError("pw2: unsupported character")

    def hash_fn(password: str) -> str:
        time.sleep(0.05)
        if password == "pw2":
            raise bad
        return _hash(password)

    shown = "hash_all(4 passwords, hash_fn) where hash_fn raises ValueError for 'pw2'"
    task = asyncio.create_task(sub.hash_all(passwords, hash_fn))
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        task.cancel()
        fail(f"Called {shown}: it had neither returned nor raised 5 s later. {LESSON}")
    exc = await raises(task)  # re-raises a stub's NotImplementedError
    if exc is None:
        fail(f"Called {shown}: it returned {task.result()!r}. A failed hash must not come back as a value (or be "
             f"skipped): let the exception propagate to the caller. {LESSON}")
    expect(any(e is bad for e in flatten(exc)),
           f"Called {shown}: it raised {describe(exc)}, expected hash_fn's own ValueError (alone or in an "
           f"ExceptionGroup). {LESSON}")

"""Checks for asyncio/bounded: `bounded_gather(factories, limit)`.

Factories are instrumented (course.probes.InFlight): each counts as in flight from the moment it is called
until it finishes, and finishes only when the check releases it. So "how many at once" is counted, never
timed.
"""

from __future__ import annotations

import asyncio

from course.checking import describe, expect, fail, flatten, raises
from course.probes import InFlight, other_tasks

REQUIRES = {"bounded_gather": "async def bounded_gather(factories, limit)"}
LESSON = "See notebook 01_asyncio/03, 'Limiting fan-out'."


async def _start(sub, probe: InFlight, limit: int) -> asyncio.Task:
    task = asyncio.create_task(sub.bounded_gather(probe.factories(), limit))
    await probe.settle()
    return task


async def _drive(sub, n: int, limit: int) -> tuple[InFlight, list[tuple[int, int]], asyncio.Task]:
    """Release jobs one at a time (oldest first); record (in flight, not yet called) at every quiet moment."""
    probe = InFlight(n)
    task = await _start(sub, probe, limit)
    seen = []
    for _ in range(n + 1):
        seen.append((probe.current, n - probe.called))
        if task.done() or not probe.running:
            break
        probe.release(probe.running[0])
        await probe.settle()
    probe.release_all()
    await asyncio.wait({task}, timeout=2)
    if task.done() and not task.cancelled() and task.exception() is not None:
        task.result()  # the submission's own error, with its traceback
    return probe, seen, task


async def test_a_limit_below_one_raises_value_error(sub):
    for limit in (0, -3):
        probe = InFlight(3, auto=True)
        exc = await raises(sub.bounded_gather(probe.factories(), limit))
        expect(isinstance(exc, ValueError),
               f"Called bounded_gather(3 factories, limit={limit}): it raised {describe(exc)}, expected ValueError.")
        expect(probe.called == 0,
               f"Called bounded_gather(3 factories, limit={limit}): {probe.called} factories were called before "
               "the ValueError. Check the limit before starting anything.")


async def test_an_empty_list_gives_an_empty_list(sub):
    result = await asyncio.wait_for(sub.bounded_gather([], 3), 5)
    expect(result == [], f"Called bounded_gather([], limit=3): got {result!r}, expected [].")


async def test_results_come_back_in_input_order(sub):
    delays = {0: 0.12, 1: 0.08, 2: 0.02, 3: 0.10, 4: 0.01, 5: 0.05}
    probe = InFlight(6, delays=delays)
    result = await asyncio.wait_for(sub.bounded_gather(probe.factories(), 3), 5)
    expected = probe.results
    expect(result == expected,
           f"Called bounded_gather(6 factories, limit=3) where later factories finish first: got {result!r}, "
           f"expected {expected!r} (input order, not completion order). {LESSON}")


async def test_never_more_than_limit_in_flight(sub):
    probe, _, task = await _drive(sub, 12, 3)
    expect(probe.peak <= 3,
           f"Called bounded_gather(12 factories, limit=3): {probe.peak} were in flight at once, expected at most 3. "
           f"A factory counts from the moment it is called: is the limit applied before factory() runs? {LESSON}")
    expect(task.done() and not task.cancelled() and task.exception() is None,
           "Called bounded_gather(12 factories, limit=3): it did not return the results after every factory finished.")


async def test_exactly_limit_in_flight_while_work_remains(sub):
    probe, seen, _ = await _drive(sub, 12, 3)
    for in_flight, waiting in seen:
        if waiting > 0 and in_flight != 3:
            fail(f"Called bounded_gather(12 factories, limit=3): at one point {in_flight} were in flight while "
                 f"{waiting} had not started yet; expected exactly 3. A new one should start as soon as one finishes, "
                 f"not when a whole batch is done. In-flight counts seen: {[s[0] for s in seen]}. {LESSON}")


async def test_a_failure_cancels_the_rest_and_propagates(sub):
    boom = ValueError("factory 1 failed")
    probe = InFlight(10, fail={1: boom})
    mine = {asyncio.current_task()}
    task = await _start(sub, probe, 3)
    mine.add(task)
    running_before = probe.running
    probe.release(1)
    done, _ = await asyncio.wait({task}, timeout=3)
    if not done:
        fail("Called bounded_gather(10 factories, limit=3) and made factory 1 fail: it had not returned or raised "
             "3 s later. A failure must cancel the rest and propagate.")
    exc = await raises(task)
    expect(any(e is boom for e in flatten(exc)),
           f"Called bounded_gather(10 factories, limit=3) and made factory 1 fail with ValueError: it raised "
           f"{describe(exc)}, expected the ValueError (alone or in an ExceptionGroup). Is the failure swallowed?")
    await asyncio.sleep(0.05)
    still = probe.running
    expect(not still,
           f"Factory 1 failed, yet factories {still} were still running after bounded_gather raised (in flight "
           f"before the failure: {[i for i in running_before if i != 1]}): a failure must cancel the rest. {LESSON}")
    expect(probe.called < probe.jobs.__len__(),
           "Factory 1 failed, yet every factory was started afterwards: a failure must stop the remaining work.")
    left = other_tasks(mine)
    expect(not left, f"{len(left)} task(s) were still pending after bounded_gather raised: tasks must not outlive the call.")
    probe.release_all()


async def test_calls_with_different_limits_can_run_at_the_same_time(sub):
    small, large = InFlight(6), InFlight(10)
    first = asyncio.create_task(sub.bounded_gather(small.factories(), 2))
    second = asyncio.create_task(sub.bounded_gather(large.factories(), 5))
    await small.settle()
    await large.settle()
    counts = (small.current, large.current)
    small.release_all()
    large.release_all()
    done, _ = await asyncio.wait({first, second}, timeout=3)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            task.result()  # the submission's own error, with its traceback
    expect(counts == (2, 5),
           f"Ran bounded_gather(6 factories, limit=2) and bounded_gather(10 factories, limit=5) at the same time: "
           f"{counts[0]} and {counts[1]} were in flight, expected 2 and 5. Is the limit shared between calls (a "
           "module-level semaphore)?")
    expect(len(done) == 2 and all(not t.cancelled() and t.exception() is None for t in done),
           "Two concurrent calls of bounded_gather did not both return once their factories finished.")
    expect(first.result() == small.results and second.result() == large.results,
           "Two concurrent calls of bounded_gather returned the wrong results.")

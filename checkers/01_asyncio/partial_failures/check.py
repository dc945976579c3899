"""Checks for asyncio/partial_failures: `gather_partial(jobs, timeout)`.

Jobs are instrumented (course.probes.InFlight, named "job0", "job1", ...): each counts as in flight from
the moment it is called until it finishes, records whether it was cancelled, and either finishes after a
set delay, fails as told, or waits until the check releases it (or forever). So "all at once" is counted,
not timed. Time is evidence only for "about one timeout, not the sum", with margins of several times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from course.checking import describe, expect, fail, flatten, raises, wait_until
from course.probes import InFlight, other_tasks

REQUIRES = {"gather_partial": "async def gather_partial(jobs, timeout)"}
LESSON = "See notebook 01_asyncio/02, 'Exception groups and except*'."


def _named(probe: InFlight) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {f"job{i}": factory for i, factory in enumerate(probe.factories())}


class Call:
    """One call of the submission in its own task, timed from start to end."""

    def __init__(self, sub, jobs: dict[str, Callable[[], Awaitable[Any]]], timeout: float, shown: str) -> None:
        self.shown = f"gather_partial({shown}, timeout={timeout:g})"
        self.started = time.monotonic()
        self.ended: float | None = None
        self.task = asyncio.create_task(sub.gather_partial(jobs, timeout))
        self.task.add_done_callback(self._end)

    def _end(self, _: asyncio.Task) -> None:
        self.ended = time.monotonic()

    def __str__(self) -> str:
        return self.shown

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    async def outcome(self, within: float) -> tuple[Any, BaseException | None]:
        """(value, None) or (None, exception); a failure if it does neither within `within` s."""
        done, _ = await asyncio.wait({self.task}, timeout=within)
        if not done:
            self.task.cancel()
            fail(f"Called {self}: it had neither returned nor raised {within:g} s later, though every job ends "
                 f"by itself or at its timeout. Does every job run under its own timeout? {LESSON}")
        exc = await raises(self.task)  # re-raises a stub's NotImplementedError
        return (None, exc) if exc is not None else (self.task.result(), None)

    async def returned(self, within: float, why: str = "") -> tuple[dict[str, Any], dict[str, BaseException]]:
        """The two dicts it returned; a failure if it raised or returned something else."""
        value, exc = await self.outcome(within)
        if exc is not None:
            fail(f"Called {self}{why}: it raised {describe(exc)}, expected it to return (results, errors). Only a "
                 f"bug (an exception other than TimeoutError, OSError or asyncpg.PostgresError) may escape. "
                 f"{LESSON}")
        if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(d, dict) for d in value)):
            fail(f"Called {self}: it returned {value!r}, expected a tuple of two dicts (results, errors).")
        return value


def _names(d: dict) -> list[str]:
    return sorted(d)


async def test_no_jobs_give_two_empty_dicts(sub):
    call = Call(sub, {}, 1, "{}")
    results, errors = await call.returned(3)
    expect((results, errors) == ({}, {}),
           f"Called {call}: got {(results, errors)!r}, expected ({{}}, {{}}).")


async def test_jobs_that_all_succeed_give_their_results_by_name(sub):
    values = [1, None, "three", [4]]
    probe = InFlight(4, results=values, delays={0: 0.03, 1: 0.0, 2: 0.02, 3: 0.01})
    call = Call(sub, _named(probe), 2, "4 jobs that all succeed")
    results, errors = await call.returned(5)
    expected = {f"job{i}": v for i, v in enumerate(values)}
    expect(results == expected and errors == {},
           f"Called {call}: got results={results!r} and errors={errors!r}, expected results={expected!r} (every "
           f"value by its job's name, None included) and errors={{}}.")
    expect(probe.called == 4 and all(j.finished for j in probe.jobs),
           f"Called {call}: {probe.called} of the 4 jobs were called, expected each one once.")


async def test_jobs_run_concurrently(sub):
    probe = InFlight(6)
    call = Call(sub, _named(probe), 5, "6 jobs that wait until the check releases them")
    # Nothing finishes until released: a version that awaits one job before starting the next stays at 1.
    await probe.settle(quiet=0.1)
    at_once = probe.current
    probe.release_all()
    results, errors = await call.returned(5)
    expect(at_once == 6,
           f"Called {call}: {at_once} of the 6 jobs were running at once, expected all 6. Start every job before "
           f"awaiting any of them. {LESSON}")
    expect(results == {f"job{i}": f"result-{i}" for i in range(6)} and errors == {},
           f"Called {call} and released every job: got results={results!r}, errors={errors!r}.")


async def test_a_job_that_outlives_the_timeout_is_recorded_as_timeout_error(sub):
    mine = {asyncio.current_task()}
    probe = InFlight(3, delays={0: 0.0, 1: 0.05})  # job2 never finishes by itself
    call = Call(sub, _named(probe), 0.4, "job0 and job1 finish at once, job2 never does")
    mine.add(call.task)
    results, errors = await call.returned(4, " (job2 should have been recorded as timed out)")
    expect(results == {"job0": "result-0", "job1": "result-1"},
           f"Called {call}: got results={results!r}, expected the values of job0 and job1 (the jobs that finished "
           f"must be kept when another one times out). {LESSON}")
    expect(_names(errors) == ["job2"] and isinstance(errors["job2"], TimeoutError),
           f"Called {call}: got errors={errors!r}, expected {{'job2': TimeoutError()}}. {LESSON}")
    expect(probe.jobs[2].cancelled,
           f"Called {call}: it recorded job2 as timed out, but job2 was never cancelled: it is still running, "
           f"unowned. A timeout must stop the job it gives up on. {LESSON}")
    if not await wait_until(lambda: not other_tasks(mine), 1.0):
        fail(f"Called {call}: {len(other_tasks(mine))} task(s) it started were still pending 1 s after it "
             f"returned. Work a call starts must not outlive it. {LESSON}")


async def test_os_and_postgres_errors_are_recorded_by_name(sub, db):
    pool = await db.pool(max_size=2)
    disk_full = OSError(28, "No space left on device")
    reset = ConnectionResetError(104, "Connection reset by peer")
    raised: list[BaseException] = []

    async def failing_query() -> Any:
        try:
            return await pool.fetchval("SELECT 1 / 0")
        except asyncpg.PostgresError as exc:
            raised.append(exc)
            raise

    async def fails_with(exc: BaseException) -> Any:
        await asyncio.sleep(0.01)
        raise exc

    async def value() -> int:
        return await pool.fetchval("SELECT 42")

    jobs = {"disk": lambda: fails_with(disk_full), "query": failing_query, "reset": lambda: fails_with(reset),
            "answer": value}
    call = Call(sub, jobs, 3, "jobs 'disk' (OSError), 'query' (SELECT 1 / 0), 'reset' (ConnectionResetError) "
                "and 'answer' (SELECT 42)")
    results, errors = await call.returned(6, " (OSError and asyncpg.PostgresError are expected failures)")
    expect(results == {"answer": 42},
           f"Called {call}: got results={results!r}, expected {{'answer': 42}}: the other jobs go on when one "
           f"fails in an expected way. {LESSON}")
    expect(_names(errors) == ["disk", "query", "reset"],
           f"Called {call}: got errors for {_names(errors)}, expected for ['disk', 'query', 'reset']. {LESSON}")
    expected = {"disk": disk_full, "reset": reset, "query": raised[0] if raised else None}
    for name, exc in expected.items():
        expect(errors[name] is exc,
               f"Called {call}: errors[{name!r}] was {describe(errors[name])}, expected the very exception the "
               f"job raised, {describe(exc)}: record the exception instance itself, not a copy or a message.")


async def test_every_job_that_finishes_within_the_timeout_is_kept(sub):
    oops = OSError("job0 could not reach the service")
    # job0 fails at once, job1 and job2 finish after 0.1 s and 0.4 s, job3 never does. With a timeout of 0.8 s
    # job2 has 0.4 s to spare: an early failure or the timeout of another job must not cut it short.
    probe = InFlight(4, fail={0: oops}, delays={0: 0.0, 1: 0.1, 2: 0.4})
    call = Call(sub, _named(probe), 0.8, "job0 fails at once, job1 and job2 take 0.1 s and 0.4 s, job3 never ends")
    results, errors = await call.returned(5)
    expect(results == {"job1": "result-1", "job2": "result-2"},
           f"Called {call}: got results={results!r}, expected the values of job1 and job2: each job has the whole "
           f"timeout for itself, whatever happens to the others. {LESSON}")
    expect(_names(errors) == ["job0", "job3"] and errors["job0"] is oops and isinstance(errors["job3"], TimeoutError),
           f"Called {call}: got errors={errors!r}, expected job0's OSError and a TimeoutError for job3. {LESSON}")


async def test_the_whole_call_takes_about_one_timeout(sub):
    probe = InFlight(6)  # never released: every job outlives the timeout
    call = Call(sub, _named(probe), 0.3, "6 jobs that never finish")
    results, errors = await call.returned(5, " (every job should have timed out)")
    # One timeout for jobs that run together is 0.3 s; one after another it is 6 x 0.3 = 1.8 s. 1.0 s is more
    # than three times the first, so a loaded machine does not fail a correct version.
    expect(call.elapsed < 1.0,
           f"Called {call}: it took {call.elapsed:.2f} s, expected about 0.3 s (one timeout, since the jobs run at "
           f"the same time), not 6 x 0.3 = 1.8 s. Are the timeouts waited for one after another? {LESSON}")
    expect(results == {} and _names(errors) == [f"job{i}" for i in range(6)]
           and all(isinstance(e, TimeoutError) for e in errors.values()),
           f"Called {call}: got results={results!r} and errors={errors!r}, expected no results and a TimeoutError "
           f"for each of the 6 jobs.")
    expect(all(j.cancelled for j in probe.jobs),
           f"Called {call}: jobs {[j.index for j in probe.jobs if not j.cancelled]} were never cancelled, though "
           f"recorded as timed out. {LESSON}")


class Bug:
    """gather_partial on 5 jobs: job1 has a bug (fails after 0.05 s), job2 and job3 run until their timeout."""

    TIMEOUT = 2.0

    def __init__(self, bug: BaseException) -> None:
        self.bug = bug
        self.probe = InFlight(5, fail={1: bug, 4: OSError("expected failure")}, delays={0: 0.0, 1: 0.05, 4: 0.0})
        self.shown = (f"5 jobs where job1 raises {describe(bug)} after 0.05 s, job2 and job3 run until cancelled "
                      "and job4 raises OSError")

    async def run(self, sub, mine: set[asyncio.Task]) -> tuple[Call, BaseException | None]:
        call = Call(sub, _named(self.probe), self.TIMEOUT, self.shown)
        mine.add(call.task)
        value, exc = await call.outcome(self.TIMEOUT + 2)
        if exc is None:
            errors = value[1] if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict) else {}
            what = (f"with job1's {describe(self.bug)} recorded in errors" if errors.get("job1") is self.bug
                    else f"{value!r}")
            fail(f"Called {call}: it returned after {call.elapsed:.2f} s {what}. {describe(self.bug)} is a bug, not "
                 f"an expected failure: it must propagate (as an exception group) and cancel the other jobs, not be "
                 f"recorded. Catch only TimeoutError, OSError and asyncpg.PostgresError. {LESSON}")
        return call, exc


async def test_a_bug_propagates_as_an_exception_group(sub):
    for bug in (ValueError("job1 is broken"), KeyError("job1")):
        call, exc = await Bug(bug).run(sub, {asyncio.current_task()})
        expect(isinstance(exc, BaseExceptionGroup) and any(e is bug for e in flatten(exc)),
               f"Called {call}: it raised {describe(exc)}, expected an exception group containing job1's "
               f"{describe(bug)}. {LESSON}")


async def test_a_bug_cancels_the_jobs_still_running(sub):
    mine = {asyncio.current_task()}
    bug = Bug(ValueError("job1 is broken"))
    call, exc = await bug.run(sub, mine)
    probe = bug.probe
    # The bug comes at 0.05 s and the timeout is 2 s: 1 s tells "cancelled at once" from "left to time out"
    # with a margin of many times either way.
    expect(call.elapsed < 1.0,
           f"Called {call}: it raised {describe(exc)} only after {call.elapsed:.2f} s, though job1 failed after "
           f"0.05 s. A bug must cancel the jobs still running at once, not wait for their timeout. {LESSON}")
    await asyncio.sleep(0.05)
    left = [i for i in (2, 3) if not probe.jobs[i].cancelled]
    expect(not left,
           f"Called {call}: it raised {describe(exc)}, but jobs {left} were not cancelled"
           f"{' and are still running' if probe.running else ''}. A bug must stop the jobs still running, or "
           f"they go on unowned after the call. {LESSON}")
    if not await wait_until(lambda: not other_tasks(mine), 1.0):
        fail(f"Called {call}: {len(other_tasks(mine))} task(s) it started were still pending 1 s after it raised. "
             f"Work a call starts must not outlive it. {LESSON}")

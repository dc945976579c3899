"""Shared probes every checker uses: in-flight counting, event-loop lag, leftover tasks.

They measure by counting and by events, never by tight wall-clock thresholds: these machines are two noisy
cores.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    """One instrumented unit of work: the checker decides when it finishes."""

    index: int
    called: bool = False
    started_at: float | None = None
    finished: bool = False
    cancelled: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)


class InFlight:
    """Factories that count how many of them are in flight (called and not yet finished) at once.

    A job counts as in flight from the moment its factory is called, because calling a factory may already
    start the work. Each job waits for `release(i)` (or `release_all()`) unless created with `auto=True`.
    """

    def __init__(
        self,
        n: int,
        *,
        results: list[Any] | None = None,
        fail: dict[int, BaseException] | None = None,
        delays: dict[int, float] | None = None,
        auto: bool = False,
    ) -> None:
        self.jobs = [Job(i) for i in range(n)]
        self.results = results if results is not None else [f"result-{i}" for i in range(n)]
        self.fail = fail or {}
        self.delays = delays or {}
        self.auto = auto
        self.current = 0
        self.peak = 0
        self.call_order: list[int] = []
        self.timeline: list[tuple[float, int]] = [(time.monotonic(), 0)]
        self.changed = asyncio.Event()

    def _set(self, delta: int) -> None:
        self.current += delta
        self.peak = max(self.peak, self.current)
        self.timeline.append((time.monotonic(), self.current))
        self.changed.set()

    def factories(self) -> list[Callable[[], Awaitable[Any]]]:
        return [self._factory(job) for job in self.jobs]

    def _factory(self, job: Job) -> Callable[[], Awaitable[Any]]:
        def factory() -> Awaitable[Any]:
            job.called = True
            self.call_order.append(job.index)
            self._set(+1)
            return self._run(job)

        return factory

    async def _run(self, job: Job) -> Any:
        job.started_at = time.monotonic()
        try:
            if job.index in self.delays:
                await asyncio.sleep(self.delays[job.index])
            elif not self.auto:
                await job.release.wait()
            if job.index in self.fail:
                raise self.fail[job.index]
            return self.results[job.index]
        except asyncio.CancelledError:
            job.cancelled = True
            raise
        finally:
            job.finished = True
            self._set(-1)

    def release(self, index: int) -> None:
        self.jobs[index].release.set()

    def release_all(self) -> None:
        for job in self.jobs:
            job.release.set()

    @property
    def called(self) -> int:
        return sum(job.called for job in self.jobs)

    @property
    def running(self) -> list[int]:
        return [j.index for j in self.jobs if j.called and not j.finished]

    async def settle(self, quiet: float = 0.05, timeout: float = 2.0) -> None:
        """Wait until the count stops changing for `quiet` seconds (or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), quiet)
            except TimeoutError:
                return


class LoopLag:
    """A heartbeat every `interval` seconds; `max_lag` is how late the worst beat was (blocked-loop detector).

    A blocking call of 200 ms shows as about 200 ms of lag; a loop left free stays in the tens of ms even on
    a busy machine, so checks compare against thresholds several times apart.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None
        self._beat_started = 0.0

    async def _beat(self) -> None:
        while True:
            self._beat_started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, time.perf_counter() - self._beat_started - self.interval))

    async def __aenter__(self) -> LoopLag:
        self._beat_started = time.perf_counter()
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        # The beat in progress may be the late one (a block just before the exit): count how late it is.
        self.lags.append(max(0.0, time.perf_counter() - self._beat_started - self.interval))
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    @property
    def max_lag(self) -> float:
        return max(self.lags, default=0.0)


class ThreadCounter:
    """Wraps a blocking function to count concurrent calls and the threads they ran on."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.current = 0
        self.peak = 0
        self.calls = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.calls += 1
            self.current += 1
            self.peak = max(self.peak, self.current)
            self.threads.add(threading.get_ident())
        try:
            return self.fn(*args)
        finally:
            with self._lock:
                self.current -= 1


def other_tasks(mine: set[asyncio.Task]) -> list[asyncio.Task]:
    """Tasks still pending in this loop apart from `mine` and the current one: work nobody waits for."""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and t not in mine and not t.done()]


class StatementCounter:
    """Records every statement an SQLAlchemy engine sends to the server (one entry per round trip).

    `executemany` batches count once, with the number of parameter sets they carried; that is how "no round
    trip per row" is told apart from "one INSERT per row".
    """

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self._engine = getattr(engine, "sync_engine", engine)
        self.statements: list[tuple[str, int]] = []
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        # An executemany carries one parameter set per row; an "insertmanyvalues" batch arrives as one flat
        # tuple of values for a single statement, which is one round trip (its row count is not recoverable).
        nested = bool(parameters) and isinstance(parameters[0], (list, tuple, dict))
        rows = len(parameters) if executemany and nested else 1
        self.statements.append((" ".join(statement.split()), rows))

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)

    def matching(self, word: str) -> list[str]:
        """Statements starting with `word` (SELECT, INSERT, UPDATE, ...), case-insensitive."""
        return [s for s, _ in self.statements if s.upper().startswith(word.upper())]

    def summary(self, limit: int = 8) -> str:
        """The first statements, shortened: evidence for a failure message."""
        lines = [
            f"  {i + 1}. {s[:110]}" + (f"  [x{rows} rows]" if rows > 1 else "")
            for i, (s, rows) in enumerate(self.statements[:limit])
        ]
        more = len(self.statements) - limit
        return "\n".join(lines + ([f"  ... and {more} more"] if more > 0 else []))

    def close(self) -> None:
        from sqlalchemy import event

        if event.contains(self._engine, "before_cursor_execute", self._record):
            event.remove(self._engine, "before_cursor_execute", self._record)


def spy_connection_class() -> type:
    """An asyncpg Connection class that records each call that makes a round trip (for `connection_class=`)."""
    import asyncpg

    class SpyConnection(asyncpg.Connection):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.calls: list[str] = []

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("execute")
            return await super().execute(*args, **kwargs)

        async def executemany(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("executemany")
            return await super().executemany(*args, **kwargs)

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("fetch")
            return await super().fetch(*args, **kwargs)

        async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("fetchval")
            return await super().fetchval(*args, **kwargs)

        async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("fetchrow")
            return await super().fetchrow(*args, **kwargs)

        async def copy_records_to_table(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("copy_records_to_table")
            return await super().copy_records_to_table(*args, **kwargs)

        async def copy_to_table(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append("copy_to_table")
            return await super().copy_to_table(*args, **kwargs)

    return SpyConnection

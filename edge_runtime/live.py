"""Real-time pacing: the segmenter always takes the newest frame; stale frames are dropped.

A reader thread pulls frames from a source and puts each into a one-frame slot
(:class:`NewestSlot`); a frame still in the slot when the next one arrives is replaced and
counted as dropped, so no queue ever builds however slow the model is. A live source is read
as fast as it delivers; a file in real-time mode is paced by its own timestamps (frame ``i`` is
released at ``start + timestamp_s``), as if it came from the scanner. Each frame carries the
clock time it arrived (live) or was due (paced file): a frame's latency runs from that time to
its mask, so a late decode counts against it. Standard library only; the clock is injectable
for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from edgeseg.edge_runtime.sources.base import SourceFrame

READER_THREAD_NAME = "edgeseg-live-reader"


@dataclass(frozen=True)
class Clock:
    """Where time comes from: ``now()`` in seconds (monotonic) and ``sleep(seconds)``.

    ``sleep=None`` waits on the feed's stop event, so closing the feed wakes a paced reader.
    """

    now: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], None] | None = None


@dataclass(frozen=True)
class Arrival:
    """A frame and the clock time it arrived (live) or was due (a file paced in real time)."""

    frame: SourceFrame
    due: float


@dataclass
class NewestSlot:
    """A mailbox of one: ``put`` replaces an untaken frame (a drop), ``take`` waits for one.

    ``close(error)`` ends it: ``take`` still returns a frame left in the slot, then None, or
    raises ``error`` (the reader's failure) once the slot is empty.
    """

    dropped: int = 0
    received: int = 0
    _item: Arrival | None = None
    _closed: bool = False
    _error: BaseException | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def put(self, item: Arrival) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.received += 1
            self._cond.notify()

    def close(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._closed = True
            self._error = error
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Arrival | None:
        """The newest frame (waiting for one), or None once closed and empty.

        ``timeout``: TimeoutError when no frame came within that many seconds (a stalled
        device); None waits as long as it takes.
        """
        with self._cond:
            ready = self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            if not ready:
                raise TimeoutError(f"no frame within {timeout:g} s")
            item, self._item = self._item, None
            if item is None and self._error is not None:
                raise self._error
            return item

    @property
    def waiting(self) -> int:
        """Frames waiting in the slot: 0 or 1, never more."""
        with self._cond:
            return int(self._item is not None)


class LiveFeed:
    """Iterate the newest frames of ``frames`` as a live feed (see the module docstring).

    ``paced``: release each frame at its timestamp (a file in ``--realtime`` mode); otherwise
    frames are released as soon as the source gives them (a live device). ``dropped`` and
    ``received`` count what the reader saw; iterate once; :meth:`close` (or leaving a ``with``
    block) stops the reader and joins it. An error in the source is raised by the iteration
    after the frames before it were handed out.
    """

    def __init__(
        self, frames: Iterable[SourceFrame], *, paced: bool, clock: Clock | None = None
    ) -> None:
        self.clock = clock or Clock()
        self.paced = paced
        self.slot = NewestSlot()
        self._frames = frames
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=READER_THREAD_NAME, daemon=True)
        self._started = False

    @property
    def dropped(self) -> int:
        return self.slot.dropped

    @property
    def received(self) -> int:
        return self.slot.received

    def _sleep(self, seconds: float) -> None:
        if self.clock.sleep is not None:
            self.clock.sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _read(self) -> None:
        now = self.clock.now
        start: float | None = None
        try:
            for frame in self._frames:
                if self._stop.is_set():
                    break
                if self.paced:
                    if start is None:
                        start = now() - frame.timestamp_s
                    due = start + frame.timestamp_s
                    ahead = due - now()
                    if ahead > 0:
                        self._sleep(ahead)
                    if self._stop.is_set():
                        break
                else:
                    due = now()
                self.slot.put(Arrival(frame, due))
        except BaseException as exc:  # handed to the consumer's thread, raised there
            self.slot.close(exc)
            return
        self.slot.close()

    def __iter__(self) -> Iterator[Arrival]:
        if not self._started:
            self._started = True
            self._thread.start()
        while True:
            item = self.slot.take()
            if item is None:
                return
            yield item

    def close(self) -> None:
        """Stop the reader (it ends after the frame it is reading) and join it."""
        self._stop.set()
        self.slot.close()
        if self._started and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["READER_THREAD_NAME", "Arrival", "Clock", "LiveFeed", "NewestSlot"]

"""Progress bars for long work (rich, on stderr; silent when stderr is not a terminal)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Bar:
    """``advance(n)`` moves the bar ``n`` steps on; ``total(n)`` sets its length once known.

    Library functions that take a ``progress`` callback call it with increments (``progress(1)``
    per item), never a running total, so ``progress=bar.advance`` ends at the item count.
    """

    advance: Callable[[int], None]
    total: Callable[[int], None]


def per_event(bar: Bar) -> Callable[[Any], None]:
    """A callback for events that carry ``total`` (the runtime's): sets the length, advances."""

    def on_event(event: Any) -> None:
        if getattr(event, "total", None):
            bar.total(event.total)
        bar.advance(1)

    return on_event


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Bar]:
    if not sys.stderr.isatty():
        yield Bar(lambda n=1: None, lambda n: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as prog:
        task = prog.add_task(description, total=total)
        yield Bar(
            lambda n=1: prog.advance(task, n),
            lambda n: prog.update(task, total=n),
        )

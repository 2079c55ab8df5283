"""What the CLI draws for a person at a terminal: rich tables, colour, progress.

Used only when stdout is a terminal; otherwise (a pipe, a file, a test runner,
and always for ``--json``) the CLI prints the plain text of `_output`, which
scripts can parse. rich is imported on first use, so ``safe-release --help`` and
plain output do not pay for it. Every cell arrives here already shown with
`visible` and is handed to rich as plain `Text` (never as markup), so stored
text can neither drive the terminal nor style itself. ``NO_COLOR`` is honoured
(by rich).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.console import Console

__all__ = ["counting", "is_terminal", "print_table", "print_text", "progress", "working"]

_GOOD = frozenset({"succeeded", "verified", "yes", "ok", "OK"})
_BAD = frozenset({"failed", "rollback_failed", "unverified", "UNVERIFIED", "no", "FAIL"})
_PENDING = frozenset({"running", "pending_rollback", "rolling_back", "rolled_back"})


def is_terminal() -> bool:
    """Whether stdout is a terminal (then rich draws); else the CLI prints plain text."""
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _console(*, err: bool = False) -> Console:
    from rich.console import Console  # noqa: PLC0415 - only a terminal pays for rich

    return Console(
        file=sys.stderr if err else sys.stdout,
        force_terminal=True,
        highlight=False,
        markup=False,
        emoji=False,
    )


def _style(cell: str) -> str:
    if cell in _GOOD:
        return "green"
    if cell in _BAD:
        return "bold red"
    return "yellow" if cell in _PENDING else ""


def print_text(text: str) -> None:
    """Print text that is already shown with `visible_lines`, as it is."""
    from rich.text import Text  # noqa: PLC0415 - only a terminal pays for rich

    _console().print(Text(text), soft_wrap=True)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Draw a table with a bold header; statuses and yes/no cells coloured."""
    from rich import box  # noqa: PLC0415 - only a terminal pays for rich
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    grid = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for header in headers:
        grid.add_column(Text(header), overflow="fold")
    for row in rows:
        grid.add_row(*(Text(cell, style=_style(cell)) for cell in row))
    _console().print(grid)


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int, str], None]]:
    """A progress bar for ``total`` items; yields ``update(done, note)``.

    Drawn on stdout while the work runs and left at 100 % when it ends.
    """
    from rich.progress import (  # noqa: PLC0415 - only a terminal pays for rich
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=_console(),
    )
    with bar:
        task = bar.add_task(description, total=total, note="")

        def update(done: int, note: str = "") -> None:
            bar.update(task, completed=done, note=note)

        yield update


def working(description: str, *, as_json: bool = False) -> Any:
    """A spinner on stderr while work of unknown length runs (a restore, a check).

    Only when stdout and stderr are terminals and not for ``--json``; it is erased
    when the work ends, so it never mixes with the output.
    """
    if as_json or not (is_terminal() and _stderr_is_terminal()):
        return nullcontext()
    return _console(err=True).status(description, spinner="dots")


@contextmanager
def counting(description: str, *, as_json: bool = False) -> Iterator[Callable[[str], None] | None]:
    """A progress bar on stderr for work whose length is not known ahead (a rollback).

    Yields ``advance(note)``: one more item done, ``note`` (already shown with
    `visible`) naming it. None when nothing is drawn: stdout or stderr is not a
    terminal, or ``--json``. The bar pulses, counts the items and is erased at
    the end, so it never mixes with the output.
    """
    if as_json or not (is_terminal() and _stderr_is_terminal()):
        yield None
        return
    from rich.progress import (  # noqa: PLC0415 - only a terminal pays for rich
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text  # noqa: PLC0415 - as above

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} done"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}", markup=False),
        console=_console(err=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(Text(description).plain, total=None, note="")

        def advance(note: str) -> None:
            bar.update(task, advance=1, note=note)

        yield advance

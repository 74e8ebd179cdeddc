"""How `tenantguard` commands write for people and for scripts.

- Standard output holds only the command's output (a plan, a table, one JSON document); errors,
  prompts, progress bars and log lines go to standard error.
- Colour only when standard output (or error, for its console) is a terminal and ``NO_COLOR`` is
  not set (https://no-color.org); piped output is plain text.
- Piped output is 80 columns wide; names in tables are cut with "…" so a row never wraps.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

#: Width of piped output, and the widest a table gets on a terminal.
WIDTH: Final = 80
ELLIPSIS: Final = "…"


def _console(stream: TextIO, *, stderr: bool) -> Console:
    terminal = _is_terminal(stream)
    return Console(
        stderr=stderr,
        force_terminal=terminal,
        no_color="NO_COLOR" in os.environ,
        # NO_COLOR (https://no-color.org) takes colour away, not bold or the progress bar.
        color_system="auto" if terminal else None,
        width=None if terminal else WIDTH,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def stdout_console() -> Console:
    """A console on the current ``sys.stdout`` (made per command: tests and redirections swap it)."""
    return _console(sys.stdout, stderr=False)


def stderr_console() -> Console:
    return _console(sys.stderr, stderr=True)


def stdin_is_terminal() -> bool:
    return _is_terminal(sys.stdin)


def table_width(console: Console) -> int:
    return min(console.width, WIDTH)


def cut(text: Any, width: int) -> str:
    """``text`` on one line, at most ``width`` characters (the end replaced by "…")."""
    value = " ".join(str(text).split())
    if width <= 0:
        return ""
    if len(value) <= width:
        return value
    return value[: max(width - 1, 0)] + ELLIPSIS


def short_value(value: Any, width: int = 30) -> str:
    """A value from a diff as a person reads it, on one line (long scripts and lists cut)."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return cut(value, width) if value else '""'
    return cut(json.dumps(value, default=str, ensure_ascii=False), width)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def fitted_table(
    console: Console,
    columns: Sequence[tuple[str, int]],
    rows: Iterable[Sequence[Any]],
    *,
    flexible: int = 0,
) -> Table:
    """A table that fits ``table_width(console)``: every column keeps its width but the
    ``flexible`` one (by index), which takes what is left; every cell is cut with "…" to its
    column, never wrapped."""
    width = table_width(console)
    widths = [w for _, w in columns]
    # A rich table's borders and padding take 1 + 3 per column.
    fixed = sum(w for i, w in enumerate(widths) if i != flexible)
    widths[flexible] = max(width - fixed - (1 + 3 * len(columns)), 8)
    table = Table(width=sum(widths) + 1 + 3 * len(columns))
    for (title, _), column_width in zip(columns, widths, strict=True):
        table.add_column(title, width=column_width, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(cut(cell, w)) for cell, w in zip(row, widths, strict=True)))
    return table


def write_json(document: Any) -> None:
    """One JSON document on standard output (nothing else is written there)."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()

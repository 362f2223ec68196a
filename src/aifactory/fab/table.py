"""Tab-separated tables with a header line, read with line numbers so every error can name its place.

Column names match case-insensitively; ``IGNORE`` columns are comments. Blank lines and lines starting
with ``~`` (AutoSched's comment character) are skipped; short rows are padded with empty cells.
Typed accessors (:meth:`Row.number`, :meth:`Row.time` …) raise :class:`FabDataError` naming the file,
line and column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from aifactory.fab.distributions import Distribution, UnknownDistributionError, make_distribution
from aifactory.fab.errors import FabDataError
from aifactory.fab.units import minutes_per, unit_names

COMMENT = "~"
SECONDS_PER_DAY = 86400


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Table:
    """The rows of one file under its header."""

    __slots__ = ("columns", "file", "header_line", "rows")

    def __init__(self, file: str, columns: dict[str, int], rows: list[Row], header_line: int = 1) -> None:
        self.file = file
        self.columns = columns
        self.rows = rows
        self.header_line = header_line

    @classmethod
    def parse(cls, file: str, text: str, *, separator: str | None = "\t") -> Table:
        """Parse ``text`` (the content of ``file``); ``separator`` None splits on any whitespace."""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
        if header_at is None:
            raise FabDataError(file, None, "the file is empty (it needs a header line)")
        header = [cell.strip().upper() for cell in _split(lines[header_at], separator)]
        columns: dict[str, int] = {}
        for i, name in enumerate(header):
            if name and name != "IGNORE":
                columns.setdefault(name, i)
        width = len(header)
        dates: dict[str, int | None] = {}  # parsed dates, shared by the rows: each is parsed once
        rows: list[Row] = []
        for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
            if not line.strip() or line.startswith(COMMENT):
                continue
            cells = [cell.strip() for cell in _split(line, separator)]
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            rows.append(Row(file, number, cells, columns, dates))
        return cls(file, columns, rows, header_at + 1)

    def require(self, *names: str) -> None:
        """Raise if a column is missing (named on the header line)."""
        for name in names:
            if name.upper() not in self.columns:
                raise FabDataError(self.file, self.header_line, f"column {name} is missing", name)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _split(line: str, separator: str | None) -> list[str]:
    return line.split(separator) if separator is not None else line.split()


class Row:
    """One data line; cells are looked up by column name."""

    __slots__ = ("_cells", "_columns", "_dates", "file", "line")

    def __init__(
        self,
        file: str,
        line: int,
        cells: list[str],
        columns: dict[str, int],
        dates: dict[str, int | None] | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self._cells = cells
        self._columns = columns
        self._dates = {} if dates is None else dates

    def error(self, message: str, field: str | None = None) -> FabDataError:
        return FabDataError(self.file, self.line, message, field)

    # -- raw cells --------------------------------------------------------------------------------

    def opt(self, name: str) -> str | None:
        """The cell, or ``None`` if it is empty or the column is absent."""
        index = self._columns.get(name)
        if index is None:
            index = self._columns.get(name.upper())
            if index is None:
                return None
        value = self._cells[index]
        return value or None

    def text(self, name: str) -> str:
        """A required cell."""
        value = self.opt(name)
        if value is None:
            raise self.error(f"{name} is empty", name)
        return value

    def filled(self, names: Iterable[str]) -> list[str]:
        """Which of ``names`` have a value."""
        return [name for name in names if self.opt(name) is not None]

    # -- numbers ----------------------------------------------------------------------------------

    def _to_float(self, name: str, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise self.error(f"{name} '{value}' is not a number", name) from None
        if not math.isfinite(number):
            raise self.error(f"{name} '{value}' is not a finite number", name)
        return number

    def number(self, name: str) -> float:
        return self._to_float(name, self.text(name))

    def opt_number(self, name: str) -> float | None:
        value = self.opt(name)
        return None if value is None else self._to_float(name, value)

    def non_negative(self, name: str) -> float:
        number = self.number(name)
        if number < 0:
            raise self.error(f"{name} {number:g} must not be negative", name)
        return number

    def count(self, name: str, *, minimum: int = 0) -> int:
        """A whole number ≥ ``minimum`` (``10.0`` is accepted as 10)."""
        number = self.number(name)
        if number != int(number):
            raise self.error(f"{name} {number:g} is not a whole number", name)
        if number < minimum:
            raise self.error(f"{name} {number:g} must be at least {minimum}", name)
        return int(number)

    def opt_count(self, name: str, *, minimum: int = 0) -> int | None:
        return None if self.opt(name) is None else self.count(name, minimum=minimum)

    def percent(self, name: str) -> float:
        """A percentage in [0, 100] as a fraction in [0, 1]."""
        number = self.number(name)
        if not 0 <= number <= 100:
            raise self.error(f"{name} {number:g} is not a percentage between 0 and 100", name)
        return number / 100

    def flag(self, name: str, *, default: bool = False) -> bool:
        """``yes``/``no`` (also ``y``/``n``, ``true``/``false``); empty gives ``default``."""
        value = self.opt(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("yes", "y", "true"):
            return True
        if lowered in ("no", "n", "false"):
            return False
        raise self.error(f"{name} '{value}' must be yes or no", name)

    # -- times ------------------------------------------------------------------------------------

    def unit_factor(self, unit_column: str) -> float:
        """Minutes per unit named in ``unit_column``."""
        unit = self.opt(unit_column)
        if unit is None:
            raise self.error(f"{unit_column} is empty (it needs a time unit: {unit_names()})", unit_column)
        factor = minutes_per(unit)
        if factor is None:
            raise self.error(
                f"{unit_column} '{unit}' is not a time unit (valid: {unit_names()})", unit_column
            )
        return factor

    def time(self, name: str, unit_column: str) -> float:
        """A non-negative duration in minutes."""
        return self.non_negative(name) * self.unit_factor(unit_column)

    def opt_time(self, name: str, unit_column: str) -> float | None:
        return None if self.opt(name) is None else self.time(name, unit_column)

    def distribution(
        self,
        kind_column: str | None,
        first_column: str,
        second_column: str | None,
        factor: float,
        *,
        default_kind: str = "constant",
    ) -> Distribution:
        """The distribution named in ``kind_column`` with parameters from the other two columns,
        multiplied by ``factor`` (minutes per unit, or 1 for counts); it must not draw negatives."""
        kind = (self.opt(kind_column) if kind_column else None) or default_kind
        first = self.non_negative(first_column) * factor
        second_raw = self.opt_number(second_column) if second_column else None
        second = None if second_raw is None else second_raw * factor
        field = kind_column or first_column
        try:
            dist = make_distribution(kind, first, second)
        except UnknownDistributionError as exc:
            raise self.error(f"{field} {exc}", field) from None
        except ValueError as exc:
            columns = f"{first_column}/{second_column}" if second_column else first_column
            raise self.error(f"{field} {kind} ({columns}): {exc}", field) from None
        if dist.low < 0 or dist.mean < 0:
            raise self.error(
                f"{first_column} {kind} distribution can draw negative values (from {dist.low:g})",
                first_column,
            )
        return dist

    # -- dates ------------------------------------------------------------------------------------

    def date_seconds(self, name: str) -> int:
        """The date-time in ``name`` as whole seconds since 0001-01-01 (``MM/DD/YY HH:MM:SS``)."""
        value = self.text(name)
        dates = self._dates
        if value in dates:
            seconds = dates[value]
        else:
            seconds = dates[value] = parse_date_seconds(value)
        if seconds is None:
            raise self.error(f"{name} '{value}' is not a date MM/DD/YY HH:MM:SS", name)
        return seconds

    def opt_date_seconds(self, name: str) -> int | None:
        return None if self.opt(name) is None else self.date_seconds(name)


def parse_date_seconds(value: str) -> int | None:
    """``MM/DD/YY[YY] [HH:MM[:SS]]`` as seconds since 0001-01-01 00:00, or ``None`` if malformed.

    Two-digit years are 1969–2068 (as ``strptime``'s ``%y``). Hand-written because list-form order
    files hold hundreds of thousands of dates.
    """
    day_part, _, time_part = value.strip().partition(" ")
    try:
        month, day, year_text = day_part.split("/")
        year = int(year_text)
        if len(year_text) <= 2:
            year += 2000 if year < 69 else 1900
        ordinal = date(year, int(month), int(day)).toordinal()
        clock = time_part.strip().split(":") if time_part.strip() else ["0", "0"]
        if len(clock) not in (2, 3):
            return None
        hours, minutes = int(clock[0]), int(clock[1])
        seconds = int(clock[2]) if len(clock) == 3 else 0
    except ValueError:
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
        return None
    return (ordinal - 1) * SECONDS_PER_DAY + hours * 3600 + minutes * 60 + seconds

"""The one error the SMT2020 reader raises for bad input."""

from __future__ import annotations


class FabDataError(ValueError):
    """A data set in the SMT2020 / AutoSched AP text format is missing a file or has a bad value.

    ``str(error)`` is one line naming the file, the line (when there is one) and the field, e.g.
    ``route_3.txt line 57: PTIME 'abc' is not a number``.
    """

    def __init__(self, file: str, line: int | None, message: str, field: str | None = None) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[FabDataError], tuple[str, int | None, str, str | None]]:
        """Pickle by the constructor's arguments (errors cross process boundaries in parallel runs)."""
        return (type(self), (self.file, self.line, self.reason, self.field))

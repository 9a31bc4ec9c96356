"""One exception hierarchy for everything a user can get wrong.

The command line prints these messages (never a traceback) and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass


class EmmieError(Exception):
    """Base class of every error emmie reports to a user."""


@dataclass(frozen=True)
class Problem:
    """One problem in the input, located as precisely as we can.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it
    (the header is line 1, the first data row is line 2); 0 means the whole file.
    """

    file: str
    row: int
    column: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}:{self.column}" if self.row else f"{self.file}:{self.column or '-'}"
        value = _show(self.value)
        return f"{where}: got {value}; expected {self.expected}"


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return repr(text)


class DataError(EmmieError):
    """Invalid coded data: carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self.render())

    #: The most problems listed: past this, a count of the rest (a broken file can give millions).
    MAX_LISTED = 200

    def render(self) -> str:
        n = len(self.problems)
        lines = [str(p) for p in self.problems[: self.MAX_LISTED]]
        if n > self.MAX_LISTED:
            lines.append(
                f"... and {n - self.MAX_LISTED:,} more problems, not listed (fix the first ones and run again)"
            )
        head = f"{n:,} problem{'s' if n != 1 else ''} in the coded data:"
        return "\n".join([head, *lines])


class AnalysisError(EmmieError):
    """An analysis cannot be carried out on valid data (e.g. a variance of 0)."""


#: Numerical failures of an analysis on extreme but valid inputs (a tiny SE, a zero-width CI, a huge
#: estimate): ZeroDivisionError, OverflowError and FloatingPointError are ArithmeticErrors, numpy's
#: LinAlgError and NaN-to-int conversions are ValueErrors. A stage catches these around one analysis,
#: says which and why, and goes on: never an "internal error", never a missing report.
NUMERIC_ERRORS = (ArithmeticError, ValueError, EmmieError)


def describe(exc: BaseException) -> str:
    """An error in words: an OSError as 'PATH: what went wrong' (never Python's '[Errno 2]')."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc} (check the path and its permissions)"
    return str(exc)

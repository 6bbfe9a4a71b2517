"""The privacy budget ledger: what every differentially private release spent, per budget year, append-only.

The ledger is one JSON line per entry in `releases/dp/budget.jsonl` of the installation. An entry is either
the bureau's yearly budget (`kind: budget`, the epsilon and delta it allows for releases of that year) or a
release (`kind: release`, what it spent). Entries are only ever appended (under an exclusive lock, flushed to
disk); a release that would take the year's spending over its budget is refused before any noise is drawn.
The budget of a year is the last `budget` entry of that year, else DEFAULT_EPSILON (delta 0).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from errors import BudgetExceeded, UnusableInput

LEDGER_FILE = "budget.jsonl"
DEFAULT_EPSILON = 2.0
# Sums of floats: a release that spends exactly what is left must not be refused for a rounding error.
SLACK = 1e-9


@dataclass(frozen=True)
class YearBudget:
    """A budget year: what the bureau allows, what releases spent, and what is left."""

    year: int
    epsilon: float
    delta: float
    spent_epsilon: float
    spent_delta: float
    releases: tuple[str, ...]

    @property
    def left_epsilon(self) -> float:
        return max(0.0, self.epsilon - self.spent_epsilon)

    @property
    def left_delta(self) -> float:
        return max(0.0, self.delta - self.spent_delta)

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "spent_epsilon": round(self.spent_epsilon, 12),
            "spent_delta": self.spent_delta,
            "left_epsilon": round(self.left_epsilon, 12),
            "left_delta": self.left_delta,
            "releases": list(self.releases),
        }


def check_privacy_parameter(name: str, value: float, upper: float | None = None) -> float:
    """A usable epsilon or delta (finite, positive for epsilon, non-negative for delta), else one line."""
    if not math.isfinite(value) or value < 0 or (name == "epsilon" and value == 0):
        raise UnusableInput(f"{name} must be a positive number, not {value}")
    if upper is not None and value > upper:
        raise UnusableInput(f"{name} must be at most {upper}, not {value}")
    return float(value)


class BudgetLedger:
    """The append-only ledger of one installation (`folder` is its releases/dp/)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LEDGER_FILE

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            return [json.loads(line) for line in lines if line.strip()]
        except json.JSONDecodeError:
            raise UnusableInput(f"{self.path} is damaged (a line is not JSON): restore it from the backup") from None

    def year(self, year: int) -> YearBudget:
        """The budget of `year` and what was spent from it."""
        return _summarise(year, self.entries())

    def years(self) -> list[YearBudget]:
        entries = self.entries()
        return [_summarise(y, entries) for y in sorted({int(e["year"]) for e in entries})]

    def set_budget(self, year: int, epsilon: float, delta: float = 0.0) -> YearBudget:
        """Record the bureau's budget for `year`; refused when releases already spent more than it."""
        check_privacy_parameter("epsilon", epsilon)
        check_privacy_parameter("delta", delta, upper=1e-5)
        with self._locked():
            spent = _summarise(year, self.entries())
            if spent.spent_epsilon > epsilon + SLACK or spent.spent_delta > delta + SLACK:
                raise BudgetExceeded(
                    f"releases of {year} already spent epsilon {spent.spent_epsilon:g} (delta {spent.spent_delta:g}): "
                    "the budget cannot be set below that"
                )
            self._append({"kind": "budget", "year": year, "epsilon": epsilon, "delta": delta})
        return self.year(year)

    def spend(self, year: int, release: str, epsilon: float, delta: float, what: dict) -> None:
        # `what` describes the release (its content, its years); it never overrides the entry's own fields.
        """Record a release's spending, or refuse it (BudgetExceeded) when it would exceed the year's budget.

        The check and the append happen under one lock, so two releases at once cannot both take the rest.
        Call `check` first to refuse before any work; call this once the release is written.
        """
        with self._locked():
            self._refuse_over(year, epsilon, delta, self.entries())
            self._append(
                {**what, "kind": "release", "year": year, "release": release, "epsilon": epsilon, "delta": delta}
            )

    def check(self, year: int, epsilon: float, delta: float) -> None:
        """Refuse (BudgetExceeded) a release of `year` that would spend more than is left."""
        self._refuse_over(year, epsilon, delta, self.entries())

    def _refuse_over(self, year: int, epsilon: float, delta: float, entries: list[dict]) -> None:
        budget = _summarise(year, entries)
        if epsilon > budget.left_epsilon + SLACK or delta > budget.left_delta + SLACK:
            raise BudgetExceeded(
                f"refused: this release would spend epsilon {epsilon:g} (delta {delta:g}) but only epsilon "
                f"{budget.left_epsilon:g} (delta {budget.left_delta:g}) of {year}'s budget of {budget.epsilon:g} "
                f"is left; see `rapporteur dp-release budget`"
            )

    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return _Lock(self.folder / f".{LEDGER_FILE}.lock")

    def _append(self, entry: dict) -> None:
        stamped = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "who": _who(), **entry}
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (json.dumps(stamped, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def _summarise(year: int, entries: list[dict]) -> YearBudget:
    of_year = [e for e in entries if int(e["year"]) == year]
    budgets = [e for e in of_year if e["kind"] == "budget"]
    spent = [e for e in of_year if e["kind"] == "release"]
    return YearBudget(
        year=year,
        epsilon=float(budgets[-1]["epsilon"]) if budgets else DEFAULT_EPSILON,
        delta=float(budgets[-1]["delta"]) if budgets else 0.0,
        spent_epsilon=math.fsum(float(e["epsilon"]) for e in spent),
        spent_delta=math.fsum(float(e["delta"]) for e in spent),
        releases=tuple(e["release"] for e in spent),
    )


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class _Lock:
    """An exclusive lock on a file beside the ledger, for one check-and-append."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)

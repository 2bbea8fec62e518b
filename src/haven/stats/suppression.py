"""Disclosure control: which figures are shown, and the proof that what is kept back stays so.

* **Primary suppression**: every figure below ``k`` (and zeros, when they are disclosive: "no
  man in this group" says something about everyone in it) is kept back.
* **Complementary suppression** (Haven's method): the attacker's audit
  (:mod:`haven.stats.audit`) runs over every figure released together *and* every earlier
  release; for each kept-back figure whose interval is narrower than the protection level, the
  solver names the published figures that pin it (the linear programme's binding constraints),
  and the cheapest of them (the smallest count; a total last) is kept back too. Repeat until every
  interval is wide enough, then try to show again each complementary figure, largest first,
  keeping it shown if the audit still passes. The pattern is audited whole, across tables and
  releases, so a figure derivable by differencing overlapping queries, by subtracting published
  parts from a total, or from a quarter released after its year, is caught.
* **Rounding** (the alternative policy): every figure to the nearest multiple of ``base``; the
  audit then checks that no small figure can be narrowed to fewer than ``base // 2 + 1`` values.
* **The simple method** (for comparison in ``benchmarks/statistics.py``): in each table, while a
  row or column has exactly one figure kept back, keep back its smallest other figure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from haven.stats.audit import Attacker, AuditError, CellDef, Interval, Known
from haven.stats.tables import Cube, Figure, Table, domains_for

SUPPRESS = "suppress"
ROUND = "round"


class ProtectionError(ValueError):
    """No pattern of kept-back figures protects these tables (or the audit refused them)."""


@dataclass(frozen=True)
class Policy:
    method: str = SUPPRESS
    k: int = 10
    protection: int = 10
    zeros: bool = False  # zeros disclosive: kept back like any small count
    base: int = 5

    @property
    def rounding_need(self) -> int:
        return max(1, self.base // 2)

    def rounded(self, value: int) -> int:
        return int((value + self.base // 2) // self.base * self.base)

    def rounded_range(self, shown: int) -> tuple[int, int]:
        low = max(0, shown - self.base // 2)
        return low, shown + (self.base - 1) // 2


@dataclass
class Earlier:
    """An earlier release, as the attacker has it: each figure with what was shown."""

    figures: list[Figure]
    policy: Policy


@dataclass
class Finding:
    """One kept-back (or small rounded) figure and the attacker's interval for it."""

    figure: Figure
    need: int
    interval: Interval
    earlier: bool = False
    position: int = 0  # in the problem's list of protected figures

    @property
    def ok(self) -> bool:
        return self.interval.width >= self.need


@dataclass
class Outcome:
    """A protected set of tables: what is shown, and the audit that allowed it."""

    tables: list[Table]
    findings: list[Finding] = field(default_factory=list)
    solves: int = 0

    @property
    def passed(self) -> bool:
        return all(finding.ok for finding in self.findings)

    def figures(self) -> list[Figure]:
        return [f for table in self.tables for f in table.figures.values()]

    def loss(self) -> dict[str, Any]:
        """Information lost: figures kept back, and the share of the count they hide."""
        figures = self.figures()
        inner = [f for f in figures if not f.is_margin]
        hidden = sum(f.value for f in inner if f.suppressed)
        total = sum(f.value for f in inner)
        return {
            "figures": len(figures),
            "suppressed": sum(1 for f in figures if f.suppressed),
            "primary": sum(1 for f in figures if f.status == "primary"),
            "secondary": sum(1 for f in figures if f.status == "secondary"),
            "hidden": hidden,
            "total": total,
            "hidden_share": (hidden / total) if total else 0.0,
        }


def _known(figure: Figure, policy: Policy) -> Known:
    if figure.suppressed or figure.shown is None:
        return Known(cell=figure.cell)
    if figure.status == "rounded":
        low, high = policy.rounded_range(figure.shown)
        return Known(cell=figure.cell, low=low, high=high)
    return Known.exact(figure.cell, figure.shown)


def _primary(figure: Figure, policy: Policy) -> bool:
    return figure.value < policy.k and (figure.value > 0 or policy.zeros)


class _Problem:
    """The current figures, the earlier releases and which figures need protecting."""

    def __init__(
        self,
        tables: list[Table],
        policy: Policy,
        earlier: list[Earlier],
        cubes: dict[str, Cube] | None = None,
    ):
        self.tables = tables
        self.policy = policy
        self.earlier = earlier
        self.current = [f for table in tables for f in table.figures.values()]
        self.earlier_known = [_known(f, e.policy) for e in earlier for f in e.figures]
        self.earlier_protected = [
            (f, e.policy.protection if f.status == "primary" else e.policy.rounding_need)
            for e in earlier
            for f in e.figures
            if f.status == "primary" or (f.status == "rounded" and _primary(f, e.policy))
        ]
        published_before = {
            f.cell: f.shown
            for e in earlier
            for f in e.figures
            if f.status == "published" and f.shown is not None
        }
        # A figure an earlier release showed exactly is public already: keeping it back now
        # would protect nothing.
        self.public = {i for i, f in enumerate(self.current) if f.cell in published_before}
        self.domains = domains_for(
            [f.cell for f in self.current] + [f.cell for e in earlier for f in e.figures]
        )
        self.solves = 0
        self.deadline: float | None = None
        self.points: list[np.ndarray] = []
        self.implicit = self._implicit(cubes) if cubes is not None else []

    def _implicit(self, cubes: dict[str, Cube]) -> list[tuple[Figure, int]]:
        """Figures nobody published but anyone can compute as the difference of two published
        ones that count the same categories over different months (January to July minus
        January to June is July; a year minus three of its quarters is the fourth): the months
        that such figures tell apart, for each set of categories. Those below k need the same
        protection as a figure kept back. Only months these tables count are checked (earlier
        releases' own months were checked when they were released)."""
        need = (
            self.policy.protection if self.policy.method == SUPPRESS else self.policy.rounding_need
        )
        own_months = {
            m
            for f in self.current
            for dim, values in f.cell.where
            if dim == "month"
            for m in values
        }
        shown = [f.cell for f in self.current] + [
            f.cell for e in self.earlier for f in e.figures if f.shown is not None
        ]
        families: dict[tuple[str, Any], set[frozenset[Any]]] = {}
        for cell in shown:
            rest = tuple((dim, values) for dim, values in cell.where if dim != "month")
            months = frozenset(dict(cell.where).get("month", ()))
            families.setdefault((cell.population, rest), set()).add(months)
        defined = {f.cell for f in self.current} | {f.cell for e in self.earlier for f in e.figures}
        found: dict[CellDef, Figure] = {}
        for (population, rest), month_sets in families.items():
            if len(month_sets) < 2:
                continue
            ordered = sorted(month_sets, key=lambda ms: sorted(ms))
            classes: dict[tuple[bool, ...], set[Any]] = {}
            for month in set().union(*month_sets):
                classes.setdefault(tuple(month in ms for ms in ordered), set()).add(month)
            for part in classes.values():
                if frozenset(part) in month_sets or not part <= own_months:
                    continue
                child = CellDef.make(population, {**dict(rest), "month": part})
                if child in defined or child in found:
                    continue
                value = cubes[population].value(child)
                if value < self.policy.k and (value > 0 or self.policy.zeros):
                    found[child] = Figure(
                        row="", col="", cell=child, value=value, status="implicit"
                    )
            if len(found) > 5_000:
                raise ProtectionError(
                    "These releases overlap in too many ways to audit: release whole years or "
                    "quarters that do not straddle earlier releases."
                )
        return [(figure, need) for figure in found.values()]

    def attacker(self, suppressed: set[int]) -> Attacker:
        known = []
        for i, figure in enumerate(self.current):
            if i in suppressed:
                known.append(Known(cell=figure.cell))
            elif self.policy.method == ROUND:
                low, high = self.policy.rounded_range(self.policy.rounded(figure.value))
                known.append(Known(cell=figure.cell, low=low, high=high))
            else:
                known.append(Known.exact(figure.cell, figure.value))
        attacker = Attacker(
            known + self.earlier_known,
            self.domains,
            extra_cells=[figure.cell for figure, _need in self.implicit],
        )
        attacker.seed(self.points)
        return attacker

    def protected(self, suppressed: set[int]) -> list[tuple[Figure, int, bool]]:
        need = (
            self.policy.protection if self.policy.method == SUPPRESS else self.policy.rounding_need
        )
        if self.policy.method == SUPPRESS:
            mine = [
                (self.current[i], need, False)
                for i in sorted(suppressed)
                if _primary(self.current[i], self.policy)
            ]
        else:
            mine = [(f, need, False) for f in self.current if _primary(f, self.policy)]
        return (
            mine
            + [(f, n, True) for f, n in self.earlier_protected]
            + [(f, n, False) for f, n in self.implicit]
        )

    def check(
        self,
        suppressed: set[int],
        *,
        exact: bool = False,
        first_failure: bool = False,
        focus: int | None = None,
        only: list[int] | None = None,
    ) -> tuple[list[Finding], Attacker]:
        """Each protected figure's interval (``exact``: both bounds solved; otherwise enough to
        tell whether it is wide enough). ``first_failure``: stop at the first too narrow,
        looking first at the tables of the figure ``focus`` (the one whose change is tried)."""
        attacker = self.attacker(suppressed)
        before = len(attacker.pool)
        findings = []
        protected = list(enumerate(self.protected(suppressed)))
        if only is not None:
            wanted = set(only)
            protected = [item for item in protected if item[0] in wanted]
        if focus is not None:
            near = {
                id(f)
                for table in self.tables
                if any(f is self.current[focus] for f in table.figures.values())
                for f in table.figures.values()
            }
            protected.sort(key=lambda item: id(item[1][0]) not in near)
        for position, (figure, need, earlier) in protected:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise ProtectionError(
                    "Protecting these tables takes too long for a page: choose a coarser period "
                    "or fewer filters, or prepare a release (which takes its time)."
                )
            interval = attacker.interval(figure.cell, need=None if exact else need)
            findings.append(
                Finding(
                    figure=figure, need=need, interval=interval, earlier=earlier, position=position
                )
            )
            if first_failure and interval.width < need:
                break
        self.solves += len(attacker.pool) - before
        self.points = attacker.pool[-400:]
        return findings, attacker


def _cost(figure: Figure) -> tuple[int, int]:
    # Keep back the smallest figure; a total only when nothing else will do.
    return (figure.value + 1 + (10**6 if figure.is_margin else 0), 0)


def _lines_of(problem: _Problem, index: int) -> list[list[int]]:
    figure = problem.current[index]
    position = {id(f): i for i, f in enumerate(problem.current)}
    found = []
    for table in problem.tables:
        for line in table.lines():
            if any(f is figure for f in line):
                found.append([position[id(f)] for f in line])
    return found


def protect(
    tables: list[Table],
    *,
    policy: Policy,
    earlier: Iterable[Earlier] = (),
    cubes: dict[str, Cube] | None = None,
    prune: bool = True,
    seconds: float | None = None,
) -> Outcome:
    """Haven's method: primary suppression, then complementary suppression until the attacker's
    audit passes across these tables and every earlier release; or rounding. Raises
    :class:`ProtectionError` when nothing protects them."""
    problem = _Problem(tables, policy, list(earlier), cubes)
    if seconds is not None:
        problem.deadline = time.monotonic() + seconds
    if policy.method == ROUND:
        for figure in problem.current:
            figure.status, figure.shown = "rounded", policy.rounded(figure.value)
        findings, _attacker = problem.check(set(), exact=True)
        return _finish(problem, set(), findings)
    primary = {
        i for i, f in enumerate(problem.current) if _primary(f, policy) and i not in problem.public
    }
    suppressed = set(primary)
    # Keeping more back only removes constraints, so an interval only widens: a figure found wide
    # enough stays so, and each round re-checks only those that were not.
    pending: list[int] | None = None
    for _round in range(len(problem.current) + 1):
        findings, _attacker = problem.check(suppressed, only=pending)
        failing = [finding for finding in findings if not finding.ok]
        if not failing:
            break
        pending = [finding.position for finding in failing]
        added = False
        for finding in failing:
            choice = _complement(problem, suppressed, finding)
            if choice is not None and choice not in suppressed:
                suppressed.add(choice)
                added = True
        if not added:
            raise ProtectionError(_unprotectable(failing))
    else:  # pragma: no cover - every round adds a figure, so this cannot run out
        raise ProtectionError("The suppression did not settle.")
    if prune:
        # Show again what need not be kept back, largest first (a trial stops at its first
        # failure, looking first at the tables of the figure tried).
        for index in sorted(suppressed - primary, key=lambda i: -problem.current[i].value):
            trial = suppressed - {index}
            findings, _attacker = problem.check(trial, first_failure=True, focus=index)
            if all(finding.ok for finding in findings):
                suppressed = trial
    findings, _attacker = problem.check(suppressed, exact=True)
    outcome = _finish(problem, suppressed, findings)
    if not outcome.passed:  # pragma: no cover - the loop above only stops when it passes
        raise ProtectionError(_unprotectable([f for f in findings if not f.ok]))
    return outcome


def _complement(problem: _Problem, suppressed: set[int], finding: Finding) -> int | None:
    count = len(problem.current)
    candidates = [
        i
        for i in finding.interval.binding
        if i < count and i not in suppressed and i not in problem.public
    ]
    own = next((i for i, f in enumerate(problem.current) if f is finding.figure), None)
    if not candidates and own is not None:
        candidates = [
            i
            for line in _lines_of(problem, own)
            for i in line
            if i not in suppressed and i not in problem.public
        ]
    if not candidates:
        candidates = [i for i in range(count) if i not in suppressed and i not in problem.public]
        # Without a binding figure to go by, prefer figures of the same population.
        candidates = [
            i
            for i in candidates
            if problem.current[i].cell.population == finding.figure.cell.population
        ]
    if not candidates:
        return None
    return min(candidates, key=lambda i: _cost(problem.current[i]))


def _unprotectable(failing: list[Finding]) -> str:
    finding = failing[0]
    return (
        f"A figure kept back could still be narrowed to {finding.interval.low}–"
        f"{finding.interval.high} (the protection level asks for a range of at least "
        f"{finding.need}), and nothing more can be kept back to prevent it. Release fewer "
        "or coarser tables, or wait until the counts are larger."
    )


def _finish(problem: _Problem, suppressed: set[int], findings: list[Finding]) -> Outcome:
    policy = problem.policy
    if policy.method == SUPPRESS:
        for i, figure in enumerate(problem.current):
            if i in suppressed:
                figure.status = "primary" if _primary(figure, policy) else "secondary"
                figure.shown = None
            else:
                figure.status, figure.shown = "published", figure.value
    for finding in findings:
        if not finding.earlier:
            finding.figure.interval = (finding.interval.low, finding.interval.high)
    return Outcome(tables=problem.tables, findings=findings, solves=problem.solves)


def audit(
    tables: list[Table],
    *,
    policy: Policy,
    earlier: Iterable[Earlier] = (),
    exact: bool = True,
    cubes: dict[str, Cube] | None = None,
) -> Outcome:
    """The attacker's audit of tables whose figures are already marked (a release, or what
    another method produced): every protected figure's interval, nothing changed."""
    problem = _Problem(tables, policy, list(earlier), cubes)
    suppressed = {i for i, f in enumerate(problem.current) if f.suppressed}
    if policy.method == ROUND:
        findings, _attacker = problem.check(set(), exact=exact)
    else:
        findings, _attacker = problem.check(suppressed, exact=exact)
    for finding in findings:
        if not finding.earlier:
            finding.figure.interval = (finding.interval.low, finding.interval.high)
    return Outcome(tables=tables, findings=findings, solves=problem.solves)


def simple_method(
    tables: list[Table], *, policy: Policy, cubes: dict[str, Cube] | None = None
) -> Outcome:
    """The comparison method: within each table, while a row or column has exactly one figure
    kept back, keep back its smallest other figure. It looks at no other table and no earlier
    release; its result is audited like any other."""
    for table in tables:
        for figure in table.figures.values():
            figure.status = "primary" if _primary(figure, policy) else "published"
        changed = True
        while changed:
            changed = False
            for line in table.lines():
                kept = [f for f in line if f.suppressed]
                if len(kept) == 1:
                    others = [f for f in line if not f.suppressed]
                    if others:
                        smallest = min(others, key=lambda f: (f.value == 0, f.value))
                        smallest.status = "secondary"
                        changed = True
        for figure in table.figures.values():
            figure.shown = None if figure.suppressed else figure.value
    return audit(tables, policy=policy, cubes=cubes)


__all__ = [
    "AuditError",
    "CellDef",
    "Earlier",
    "Finding",
    "Outcome",
    "Policy",
    "ProtectionError",
    "audit",
    "protect",
    "simple_method",
]

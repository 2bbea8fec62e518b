"""What can be counted, over which periods, and the figures of each table.

Two populations are counted, each by a month:

* ``received``: every person named in a request, by the month the request arrived. A *request*
  is counted through the one person who carries it (``rq``); *people* leave out those found to be
  a duplicate of someone already counted (``dup``).
* ``outcomes``: every case once settled (arrived, declined, withdrawn, repatriated, deceased,
  closed), by the month it was settled. *Arrivals* are the outcomes "arrived".

Nothing else is ever counted: a case still under way has no outcome, and where someone is on
their way (a journey state) is never a published figure (it is on supervisors' own page only).

Months are whole numbers (``year * 12 + month - 1``). A table has rows (a period or a category)
and, optionally, columns (a category), with their totals: every figure is a :class:`CellDef`
that :mod:`haven.stats.audit` understands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from haven.stats import categories as cat
from haven.stats.audit import CellDef

TOTAL = "total"
RECEIVED = "received"
OUTCOMES = "outcomes"
EARLIEST_YEAR = 2000
MAX_MONTHS = 12 * 10  # one release or page covers at most ten years
GRAINS: dict[str, Promise] = {"year": _("Year"), "quarter": _("Quarter"), "month": _("Month")}

# The dimensions of each population (besides the month), in the order a frozen cube stores them.
POPULATION_DIMS: dict[str, tuple[str, ...]] = {
    RECEIVED: ("rq", "dup", "channel", "occupation", "origin", "sex", "age"),
    OUTCOMES: ("outcome", "channel", "occupation", "origin", "sex", "age", "third_country"),
}
FLAG_VALUES = (0, 1)


@dataclass(frozen=True)
class Measure:
    population: str
    where: dict[str, tuple[Any, ...]]
    dimensions: tuple[str, ...]
    label: Promise
    hxl: str


MEASURES: dict[str, Measure] = {
    "requests": Measure(
        RECEIVED, {"rq": (1,)}, ("period", "channel"), _("Requests received"), "#affected+requests"
    ),
    "people": Measure(
        RECEIVED,
        {"dup": (0,)},
        ("period", "channel", "occupation", "origin", "sex", "age"),
        _("People who asked for help"),
        "#affected+people",
    ),
    "arrivals": Measure(
        OUTCOMES,
        {"outcome": ("arrived",)},
        ("period", "channel", "occupation", "origin", "sex", "age", "third_country"),
        _("People who arrived"),
        "#affected+arrived",
    ),
    "outcomes": Measure(
        OUTCOMES,
        {},
        ("period", "outcome", "channel"),
        _("Outcomes"),
        "#affected+outcomes",
    ),
}


def domain_of(dimension: str) -> tuple[Any, ...]:
    if dimension in ("rq", "dup"):
        return FLAG_VALUES
    return tuple(cat.DIMENSIONS[dimension])


# --- Months and periods ---------------------------------------------------------------------------


def month_number(year: int, month: int) -> int:
    return year * 12 + month - 1


def month_of(moment: dt.date) -> int:
    return month_number(moment.year, moment.month)


def month_text(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def parse_month(value: Any, *, field_name: str) -> int:
    """``YYYY-MM`` (or a date) as a month number; a clear error otherwise."""
    if isinstance(value, dt.date):
        return month_of(value)
    text = str(value or "").strip()
    try:
        year, month = (int(part) for part in text.split("-")[:2])
        if len(text.split("-")) != 2 or not 1 <= month <= 12:
            raise ValueError
    except ValueError as exc:
        raise ValidationError({field_name: f"“{text}” is not a month (YYYY-MM)."}) from exc
    if year < EARLIEST_YEAR:
        raise ValidationError({field_name: f"Statistics start in {EARLIEST_YEAR}."})
    return month_number(year, month)


def current_month(today: dt.date) -> int:
    return month_of(today)


def check_range(start: int, end: int, *, today: dt.date, closed_only: bool) -> None:
    """A range of whole months, at most ten years, and (for anything published) closed: the
    running month is never counted."""
    if end < start:
        raise ValidationError({"end": "The range ends before it starts."})
    if end - start + 1 > MAX_MONTHS:
        raise ValidationError(
            {"end": f"At most {MAX_MONTHS // 12} years at once ({MAX_MONTHS} months)."}
        )
    if closed_only and end >= current_month(today):
        raise ValidationError(
            {
                "end": "Only closed periods can be counted: the range must end before "
                f"{month_text(current_month(today))}, the month under way."
            }
        )
    if start > current_month(today):
        raise ValidationError({"start": "The range starts in the future."})


@dataclass(frozen=True)
class Period:
    code: str  # "2025", "2025-Q1", "2025-03"
    months: tuple[int, ...]
    partial: bool


def periods(start: int, end: int, grain: str) -> list[Period]:
    """The periods of ``grain`` that the range covers (the first and last may be partial)."""
    if grain not in GRAINS:
        raise ValidationError({"grain": f"Choose one of {', '.join(GRAINS)}."})
    buckets: dict[str, list[int]] = {}
    full: dict[str, int] = {}
    for number in range(start, end + 1):
        year, month = number // 12, number % 12 + 1
        if grain == "year":
            code, size = f"{year:04d}", 12
        elif grain == "quarter":
            code, size = f"{year:04d}-Q{(month - 1) // 3 + 1}", 3
        else:
            code, size = month_text(number), 1
        buckets.setdefault(code, []).append(number)
        full[code] = size
    return [
        Period(code=code, months=tuple(months), partial=len(months) < full[code])
        for code, months in buckets.items()
    ]


def period_label(period: Period) -> str:
    if not period.partial:
        return period.code
    return f"{period.code} ({month_text(period.months[0])[5:]}–{month_text(period.months[-1])[5:]})"


# --- Tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """One table: a measure by rows (a period or a category) and optionally columns."""

    measure: str
    rows: str
    cols: str = ""

    @property
    def key(self) -> str:
        return f"{self.measure}:{self.rows}" + (f":{self.cols}" if self.cols else "")

    @classmethod
    def parse(cls, text: str) -> TableSpec:
        """``measure:rows[:cols]``, e.g. ``people:period:channel``; a clear error otherwise."""
        parts = [part.strip() for part in str(text).split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValidationError(
                {"tables": f"“{text}” is not a table: write measure:rows or measure:rows:columns."}
            )
        spec = cls(*parts)
        spec.check()
        return spec

    def check(self) -> None:
        measure = MEASURES.get(self.measure)
        if measure is None:
            raise ValidationError(
                {"tables": f"Unknown measure “{self.measure}”: one of {', '.join(MEASURES)}."}
            )
        for dimension in filter(None, (self.rows, self.cols)):
            if dimension not in measure.dimensions:
                raise ValidationError(
                    {
                        "tables": f"“{self.measure}” cannot be broken down by “{dimension}”: "
                        f"by {', '.join(measure.dimensions)}."
                    }
                )
        if self.rows == self.cols:
            raise ValidationError({"tables": f"A table cannot cross {self.rows} with itself."})
        if self.cols == "period":
            raise ValidationError({"tables": "Put the period in the rows."})

    def title(self) -> str:
        measure = MEASURES[self.measure]
        by = [str(cat.DIMENSION_LABELS[d]) for d in (self.rows, self.cols) if d]
        return f"{measure.label} · " + " × ".join(by)


@dataclass
class Figure:
    """One figure of a table: its place, what it counts, its true value and what is shown."""

    row: str
    col: str
    cell: CellDef
    value: int
    status: str = "published"  # published, primary, secondary, rounded
    shown: int | None = None
    interval: tuple[int, int] | None = None  # the attacker's, for cells kept back

    @property
    def suppressed(self) -> bool:
        return self.status in ("primary", "secondary")

    @property
    def is_margin(self) -> bool:
        return self.row == TOTAL or self.col == TOTAL


@dataclass
class Table:
    spec: TableSpec
    row_codes: list[str]
    col_codes: list[str]  # [""] for a one-way table
    figures: dict[tuple[str, str], Figure] = field(default_factory=dict)
    row_labels: dict[str, str] = field(default_factory=dict)

    def figure(self, row: str, col: str = "") -> Figure:
        return self.figures[(row, col)]

    def lines(self) -> list[list[Figure]]:
        """Each row and each column with its total (the additivity a table shows)."""
        rows = [*self.row_codes, TOTAL]
        if self.col_codes == [""]:
            return [[self.figures[(row, "")] for row in rows]]
        cols = [*self.col_codes, TOTAL]
        by_row = [[self.figures[(row, col)] for col in cols] for row in rows]
        by_col = [[self.figures[(row, col)] for row in rows] for col in cols]
        return by_row + by_col


def _codes(dimension: str, period_list: list[Period]) -> list[str]:
    if dimension == "period":
        return [period.code for period in period_list]
    return list(cat.DIMENSIONS[dimension])


def build_table(
    spec: TableSpec,
    *,
    period_list: list[Period],
    filters: dict[str, tuple[str, ...]] | None = None,
) -> Table:
    """The table's figures (values filled in later from a cube)."""
    measure = MEASURES[spec.measure]
    months = tuple(m for period in period_list for m in period.months)
    by_period = {period.code: period.months for period in period_list}
    rows = _codes(spec.rows, period_list)
    cols = _codes(spec.cols, period_list) if spec.cols else [""]
    table = Table(spec=spec, row_codes=rows, col_codes=cols)
    for period in period_list:
        table.row_labels[period.code] = period_label(period)

    def restrict(where: dict[str, tuple[Any, ...]], dimension: str, code: str) -> None:
        if not dimension or code in (TOTAL, ""):
            return
        if dimension == "period":
            where["month"] = by_period[code]
        else:
            where[dimension] = (code,)

    for row in [*rows, TOTAL]:
        for col in [*cols, TOTAL] if spec.cols else [""]:
            where: dict[str, tuple[Any, ...]] = {"month": months, **measure.where}
            for dimension, allowed in (filters or {}).items():
                if dimension in where and dimension != "month":
                    where[dimension] = tuple(sorted(set(where[dimension]) & set(allowed)))
                else:
                    where[dimension] = tuple(allowed)
            restrict(where, spec.rows, row)
            restrict(where, spec.cols, col)
            table.figures[(row, col)] = Figure(
                row=row, col=col, cell=CellDef.make(measure.population, where), value=0
            )
    return table


# --- Cubes: the counts every figure is computed from ---------------------------------------------


POPULATION_COLUMNS: dict[str, tuple[str, ...]] = {
    RECEIVED: ("rm", "rq", "dup", "ch", "oc", "pr", "sx", "ag"),
    OUTCOMES: ("om", "out", "ch", "oc", "pr", "sx", "ag", "tc"),
}


def _encoder(dimension: str) -> dict[Any, int]:
    return {value: i for i, value in enumerate(domain_of(dimension))}


@dataclass
class Cube:
    """Counts of one population over its month and dimensions, as codes (months as numbers,
    categories as their index in :func:`domain_of`). A frozen release keeps :meth:`rows`."""

    population: str
    atoms: np.ndarray  # int64 (n, 1 + len(dims)): month, then each dimension's code
    counts: np.ndarray  # int64 (n,)

    @classmethod
    def empty(cls, population: str) -> Cube:
        width = 1 + len(POPULATION_DIMS[population])
        return cls(population, np.zeros((0, width), np.int64), np.zeros(0, np.int64))

    @classmethod
    def from_matrix(cls, population: str, data: np.ndarray, columns: dict[str, int]) -> Cube:
        """Aggregate the facts matrix's rows of this population (settled, not duplicates, for
        outcomes)."""
        picked = data[:, [columns[name] for name in POPULATION_COLUMNS[population]]]
        if population == OUTCOMES:
            keep = (data[:, columns["out"]] >= 0) & (data[:, columns["dup"]] == 0)
            picked = picked[keep]
        if not len(picked):
            return cls.empty(population)
        # One number per row (mixed radix), so that counting equal rows is a sort of integers:
        # np.unique over rows (axis=0) is thirty times slower at 100,000 cases.
        picked = picked.astype(np.int64)
        low = picked.min(axis=0)
        radix = picked.max(axis=0) - low + 1
        key = np.zeros(len(picked), dtype=np.int64)
        for j in range(picked.shape[1]):
            key = key * radix[j] + (picked[:, j] - low[j])
        keys, counts = np.unique(key, return_counts=True)
        atoms = np.empty((len(keys), picked.shape[1]), dtype=np.int64)
        for j in range(picked.shape[1] - 1, -1, -1):
            keys, atoms[:, j] = np.divmod(keys, radix[j])
            atoms[:, j] += low[j]
        return cls(population, atoms, counts.astype(np.int64))

    @classmethod
    def from_rows(cls, population: str, rows: Iterable[Sequence[Any]]) -> Cube:
        """From ``(month "YYYY-MM", *dimension values, count)`` (what a release stores)."""
        dims = POPULATION_DIMS[population]
        encoders = [_encoder(dim) for dim in dims]
        atoms, counts = [], []
        for row in rows:
            values = [parse_month(row[0], field_name="cube")]
            for encoder, value in zip(encoders, row[1:-1], strict=True):
                values.append(encoder.get(value, len(encoder) - 1))
            atoms.append(values)
            counts.append(int(row[-1]))
        if not atoms:
            return cls.empty(population)
        return cls(population, np.array(atoms, np.int64), np.array(counts, np.int64))

    def rows(self) -> list[list[Any]]:
        dims = POPULATION_DIMS[self.population]
        domains = [domain_of(dim) for dim in dims]
        result = []
        for atom, count in zip(self.atoms.tolist(), self.counts.tolist(), strict=True):
            decoded = [domain[code] for domain, code in zip(domains, atom[1:], strict=True)]
            result.append([month_text(atom[0]), *decoded, int(count)])
        return result

    def months(self) -> np.ndarray:
        return self.atoms[:, 0]

    def only_months(self, months: Iterable[int]) -> Cube:
        keep = np.isin(self.months(), list(months))
        return Cube(self.population, self.atoms[keep], self.counts[keep])

    @staticmethod
    def join(population: str, cubes: list[Cube]) -> Cube:
        parts = [cube for cube in cubes if len(cube.counts)]
        if not parts:
            return Cube.empty(population)
        return Cube(
            population,
            np.concatenate([cube.atoms for cube in parts]),
            np.concatenate([cube.counts for cube in parts]),
        )

    def column_of(self, dimension: str) -> np.ndarray:
        return self.atoms[:, ("month", *POPULATION_DIMS[self.population]).index(dimension)]

    def mask(self, where: Iterable[tuple[str, tuple[Any, ...]]]) -> np.ndarray:
        """Which atoms a restriction keeps (lookup tables, not a search per value)."""
        keep = np.ones(len(self.counts), dtype=bool)
        for dimension, allowed in where:
            column = self.column_of(dimension)
            if dimension == "month":
                if not len(column):
                    continue
                low = int(column.min())
                table = np.zeros(int(column.max()) - low + 1, dtype=bool)
                inside = [m - low for m in allowed if low <= m <= low + len(table) - 1]
                table[inside] = True
                keep &= table[column - low]
            else:
                encoder = _encoder(dimension)
                table = np.zeros(len(encoder), dtype=bool)
                table[[encoder[value] for value in allowed]] = True
                keep &= table[column]
        return keep

    def value(self, cell: CellDef) -> int:
        if not len(self.counts):
            return 0
        return int(self.counts[self.mask(cell.where)].sum())


def domains_for(cells: Iterable[CellDef]) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Every dimension's possible values, per population; months: those any figure counts."""
    months: dict[str, set[int]] = {RECEIVED: set(), OUTCOMES: set()}
    for cell in cells:
        for dimension, values in cell.where:
            if dimension == "month":
                months[cell.population].update(values)
    return {
        population: {
            "month": tuple(sorted(months[population])) or (0,),
            **{dimension: domain_of(dimension) for dimension in dims},
        }
        for population, dims in POPULATION_DIMS.items()
    }


def _index(cube: Cube, base: CellDef, parts: list[tuple[str, CellDef]]) -> np.ndarray:
    """For each atom, the index of the part (row or column) it falls in, or -1."""
    result = np.full(len(cube.counts), -1, dtype=np.int64)
    outer = dict(base.where)
    for i, (_code, cell) in enumerate(parts):
        extra = [(dim, values) for dim, values in cell.where if outer.get(dim) != values]
        result[cube.mask(extra)] = i
    return result


def fill(tables: list[Table], cubes: dict[str, Cube]) -> None:
    """Every figure's value, one pass over the cube per table: the atoms the table counts, each
    put in its row and column, summed; totals are sums of the same."""
    for table in tables:
        total_col = TOTAL if table.spec.cols else ""
        grand = table.figure(TOTAL, total_col)
        cube = cubes[grand.cell.population]
        rows = [(r, table.figure(r, total_col).cell) for r in table.row_codes]
        cols = (
            [(c, table.figure(TOTAL, c).cell) for c in table.col_codes] if table.spec.cols else []
        )
        if not len(cube.counts):
            for figure in table.figures.values():
                figure.value = 0
            continue
        keep = cube.mask(grand.cell.where)
        row_of = _index(cube, grand.cell, rows)
        col_of = _index(cube, grand.cell, cols) if cols else np.zeros(len(cube.counts), np.int64)
        keep &= (row_of >= 0) & (col_of >= 0)
        width = max(1, len(cols))
        dense = np.bincount(
            row_of[keep] * width + col_of[keep],
            weights=cube.counts[keep],
            minlength=len(rows) * width,
        ).reshape(len(rows), width)
        for i, (row, _cell) in enumerate(rows):
            if cols:
                for j, (col, _c) in enumerate(cols):
                    table.figure(row, col).value = int(dense[i, j])
                table.figure(row, TOTAL).value = int(dense[i].sum())
            else:
                table.figure(row, "").value = int(dense[i, 0])
        for j, (col, _c) in enumerate(cols):
            table.figure(TOTAL, col).value = int(dense[:, j].sum())
        grand.value = int(dense.sum())

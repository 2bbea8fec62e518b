"""The attacker's audit: for every cell kept back, the tightest interval that can be derived from
everything published, by linear programming (HiGHS, through scipy).

The attacker's model. A *population* (the people who asked, counted by the month they asked; the
cases settled, by the month they were settled) is a table of counts over the product of its
dimensions (month, channel, occupation, province, sex, age band, ...), unknown, non-negative. Each
published figure says that the sum of that table over some set of categories equals a number (or,
when rounded, lies within a range). The attacker may combine every figure of every table released
together and of every earlier release, and knows the counts are whole numbers.

The table over every dimension at once would be far too large to solve over (months x 4 x 8 x 14
x 4 x 7 ...). It is not needed: the tables that are published only ever combine a few dimensions
at a time, and the set of counts consistent with them is exactly described by tables over the
*cliques* of a triangulation of the graph linking dimensions that appear in one figure together,
joined on what two neighbouring cliques share (the junction-tree property of decomposable models:
locally consistent non-negative tables always extend to a non-negative table over everything).
So the linear programme below has, per population, one non-negative variable per cell of each
clique's table, one equality per published figure and one per value of each separator; its bounds
are the attacker's real-valued bounds, and rounding them inwards to whole numbers gives bounds at
least as tight as any the attacker can prove with integers in these tables (exact for the usual
two-way tables with margins, whose constraint matrices are totally unimodular).

What the audit leaves out (docs/security.md, "Statistics"): relations *between* populations (an
arrival was a request some months earlier) and knowledge from outside the releases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

# A cell: the population it counts, and for each restricted dimension the values it sums over.
Where = tuple[tuple[str, tuple[Any, ...]], ...]
MAX_CLIQUE_CELLS = 400_000
# The upper bound of a figure nothing published bounds from above (all of its totals kept back).
UNBOUNDED = 10**9
_EPS = 1e-6


class AuditError(ValueError):
    """The figures cannot be audited as asked (too many cross-classifications at once, or
    figures that contradict each other)."""


@dataclass(frozen=True)
class CellDef:
    """What one figure counts: a population, restricted on some dimensions."""

    population: str
    where: Where

    @classmethod
    def make(cls, population: str, where: Mapping[str, Iterable[Any]]) -> CellDef:
        return cls(
            population=population,
            where=tuple(sorted((dim, tuple(sorted(set(values)))) for dim, values in where.items())),
        )

    def dims(self) -> tuple[str, ...]:
        return tuple(dim for dim, _values in self.where)


@dataclass
class Known:
    """What the attacker knows of one figure: its exact value, a range (rounded), or nothing."""

    cell: CellDef
    low: float | None = None
    high: float | None = None

    @classmethod
    def exact(cls, cell: CellDef, value: float) -> Known:
        return cls(cell=cell, low=value, high=value)


@dataclass
class Interval:
    low: int
    high: int
    # Published figures (indices into the audit's ``known`` list) that bind the bounds: making
    # one of them unknown may widen the interval. Filled when the interval was too narrow.
    binding: list[int] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.high - self.low


def normalise(cell: CellDef, domains: dict[str, dict[str, tuple[Any, ...]]]) -> CellDef:
    """The same cell without restrictions that allow a dimension's every value."""
    domain = domains[cell.population]
    where = []
    for dim, values in cell.where:
        if dim not in domain:
            raise AuditError(f"Unknown dimension {dim!r} in population {cell.population!r}.")
        unknown = set(values) - set(domain[dim])
        if unknown:
            raise AuditError(f"Unknown values {sorted(map(str, unknown))} of {dim!r}.")
        if set(values) != set(domain[dim]):
            where.append((dim, values))
    return CellDef(population=cell.population, where=tuple(where))


def _value_classes(
    cells: list[CellDef], domains: dict[str, dict[str, tuple[Any, ...]]]
) -> dict[str, dict[str, dict[Any, int]]]:
    """Per population and dimension: each value's class, values in the same class being in
    exactly the same figures' restrictions."""
    result: dict[str, dict[str, dict[Any, int]]] = {}
    for population, domain in domains.items():
        mine = [cell for cell in cells if cell.population == population]
        result[population] = {}
        for dim, values in domain.items():
            restrictions = sorted({dict(c.where)[dim] for c in mine if dim in dict(c.where)})
            signatures: dict[tuple[bool, ...], int] = {}
            classes = {}
            for value in values:
                signature = tuple(value in allowed for allowed in restrictions)
                classes[value] = signatures.setdefault(signature, len(signatures))
            result[population][dim] = classes
    return result


# --- The junction tree ----------------------------------------------------------------------------


def _cliques(
    nodes: Sequence[str], edges: Iterable[tuple[str, str]], sizes: dict[str, int]
) -> list[frozenset[str]]:
    """Maximal cliques of a triangulation of the graph (greedy min-fill elimination)."""
    adjacent: dict[str, set[str]] = {node: set() for node in nodes}
    for a, b in edges:
        if a != b:
            adjacent[a].add(b)
            adjacent[b].add(a)
    remaining = set(nodes)
    found: list[frozenset[str]] = []

    def fill(node: str) -> int:
        near = adjacent[node] & remaining
        return sum(1 for a, b in itertools.combinations(sorted(near), 2) if b not in adjacent[a])

    def weight(node: str) -> int:
        return math.prod(sizes[n] for n in (adjacent[node] & remaining) | {node})

    while remaining:
        node = min(sorted(remaining), key=lambda n: (fill(n), weight(n)))
        near = adjacent[node] & remaining
        found.append(frozenset(near | {node}))
        for a, b in itertools.combinations(sorted(near), 2):
            adjacent[a].add(b)
            adjacent[b].add(a)
        remaining.remove(node)
    maximal: list[frozenset[str]] = []
    for clique in sorted(found, key=len, reverse=True):
        if not any(clique <= other for other in maximal):
            maximal.append(clique)
    return maximal


def _junction_tree(cliques: list[frozenset[str]]) -> list[tuple[int, int]]:
    """A maximum-weight spanning tree on the cliques' intersections (Kruskal)."""
    candidates = sorted(
        (
            (len(cliques[i] & cliques[j]), i, j)
            for i, j in itertools.combinations(range(len(cliques)), 2)
            if cliques[i] & cliques[j]
        ),
        reverse=True,
    )
    parent = list(range(len(cliques)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = []
    for _weight, i, j in candidates:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[ri] = rj
            tree.append((i, j))
    return tree


@dataclass
class _Clique:
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class _Population:
    """The attacker's unknowns for one population: the tables over the cliques."""

    def __init__(
        self, name: str, domain: dict[str, tuple[Any, ...]], cells: list[CellDef], offset: int
    ):
        self.name = name
        self.domain = domain
        self.index = {
            dim: {value: i for i, value in enumerate(vals)} for dim, vals in domain.items()
        }
        used = sorted({dim for cell in cells for dim in cell.dims()})
        edges = [pair for cell in cells for pair in itertools.combinations(cell.dims(), 2)]
        sizes = {dim: len(domain[dim]) for dim in used}
        cliques = _cliques(used, edges, sizes) if used else []
        if not cliques:
            cliques = [frozenset()]  # a population only ever published as its total
        self.cliques: list[_Clique] = []
        for members in cliques:
            dims = tuple(sorted(members))
            shape = tuple(len(domain[dim]) for dim in dims)
            clique = _Clique(dims=dims, shape=shape, offset=offset)
            if clique.size > MAX_CLIQUE_CELLS:
                raise AuditError(
                    "These tables cross-classify too many categories at once to be audited "
                    f"({' x '.join(dims)}: {clique.size:,} combinations). Release fewer "
                    "cross-tables together, or coarser periods."
                )
            self.cliques.append(clique)
            offset += clique.size
        self.end = offset
        self.tree = _junction_tree([frozenset(c.dims) for c in self.cliques])

    def _mask(self, clique: _Clique, where: dict[str, tuple[Any, ...]]) -> np.ndarray:
        parts = []
        for dim, size in zip(clique.dims, clique.shape, strict=True):
            allowed = np.zeros(size, dtype=bool)
            if dim in where:
                allowed[[self.index[dim][value] for value in where[dim]]] = True
            else:
                allowed[:] = True
            parts.append(allowed)
        mask = np.ones((), dtype=bool)
        for part in parts:
            mask = np.multiply.outer(mask, part)
        return mask.reshape(-1)

    def row(self, cell: CellDef) -> np.ndarray:
        """Indices of the variables whose sum is ``cell``."""
        dims = set(cell.dims())
        for clique in self.cliques:
            if dims <= set(clique.dims):
                mask = self._mask(clique, dict(cell.where))
                return clique.offset + np.flatnonzero(mask)
        raise AuditError("internal: no clique holds the cell")  # pragma: no cover

    def separators(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Pairs of index sets whose sums must agree: each value of each separator, seen from
        the two cliques it joins."""
        pairs = []
        for i, j in self.tree:
            a, b = self.cliques[i], self.cliques[j]
            shared = sorted(set(a.dims) & set(b.dims))
            for values in itertools.product(*(self.domain[dim] for dim in shared)):
                where = {dim: (value,) for dim, value in zip(shared, values, strict=True)}
                pairs.append(
                    (
                        a.offset + np.flatnonzero(self._mask(a, where)),
                        b.offset + np.flatnonzero(self._mask(b, where)),
                    )
                )
        return pairs


class Attacker:
    """Everything published, as linear constraints; asks the tightest bounds of any cell."""

    def __init__(
        self,
        known: list[Known],
        domains: dict[str, dict[str, tuple[Any, ...]]],
        extra_cells: Iterable[CellDef] = (),
    ):
        original_domains = domains
        known = [Known(cell=normalise(k.cell, domains), low=k.low, high=k.high) for k in known]
        extra = [normalise(cell, domains) for cell in extra_cells]
        # Values of a dimension that no figure tells apart (every month of a year, on a page by
        # year) are one variable: their columns in every constraint are the same, so merging
        # them changes no bound, and the programme shrinks by as much.
        self._classes = _value_classes([k.cell for k in known] + extra, domains)
        domains = {
            population: {
                dim: tuple(sorted(set(self._classes[population][dim].values()))) for dim in dims
            }
            for population, dims in domains.items()
        }
        self.known = [Known(cell=self._merge(k.cell), low=k.low, high=k.high) for k in known]
        extra = [self._merge(cell) for cell in extra]
        by_population: dict[str, list[CellDef]] = {}
        for cell in [k.cell for k in self.known] + extra:
            by_population.setdefault(cell.population, []).append(cell)
        offset = 0
        self.populations: dict[str, _Population] = {}
        for name in sorted(by_population):
            population = _Population(name, domains[name], by_population[name], offset)
            self.populations[name] = population
            offset = population.end
        self.n = offset
        self.domains = domains
        self.original_domains = original_domains
        self._rows: dict[CellDef, np.ndarray] = {}
        eq_rows: list[tuple[Any, float]] = []
        ub_rows: list[tuple[Any, float]] = []
        eq_b: list[float] = []
        ub_b: list[float] = []
        self.eq_known: list[int] = []
        self.ub_known: list[int] = []
        for index, k in enumerate(self.known):
            if k.low is None and k.high is None:
                continue
            row = self._row(k.cell)
            if k.low is not None and k.high is not None and k.low == k.high:
                eq_rows.append((row, 1.0))
                eq_b.append(float(k.low))
                self.eq_known.append(index)
                continue
            if k.high is not None:
                ub_rows.append((row, 1.0))
                ub_b.append(float(k.high))
                self.ub_known.append(index)
            if k.low is not None and k.low > 0:
                ub_rows.append((row, -1.0))
                ub_b.append(-float(k.low))
                self.ub_known.append(index)
        self.n_figures = len(eq_rows)
        for population in self.populations.values():
            for left, right in population.separators():
                eq_rows.append(((left, right), 0.0))
                eq_b.append(0.0)
        self.a_eq = self._matrix(eq_rows)
        self.b_eq = np.array(eq_b) if eq_b else None
        self.a_ub = self._matrix(ub_rows)
        self.b_ub = np.array(ub_b) if ub_b else None
        self.pool: list[np.ndarray] = []
        self._stack: np.ndarray | None = None

    def _merge(self, cell: CellDef) -> CellDef:
        classes = self._classes[cell.population]
        return CellDef(
            population=cell.population,
            where=tuple(
                (dim, tuple(sorted({classes[dim][value] for value in values})))
                for dim, values in cell.where
            ),
        )

    def _target(self, cell: CellDef) -> CellDef:
        """A cell asked about, in merged values: it must be a union of classes (any cell the
        programme was built with is)."""
        cell = normalise(cell, self.original_domains)
        merged = self._merge(cell)
        classes = self._classes[cell.population]
        for dim, values in cell.where:
            kept = set(dict(merged.where)[dim])
            if {v for v, c in classes[dim].items() if c in kept} != set(values):
                raise AuditError(f"The cell splits values of {dim!r} that no figure tells apart.")
        return merged

    def seed(self, points: Iterable[np.ndarray]) -> None:
        """Reuse feasible points found by another audit over the same cells (same variables):
        those that satisfy every figure known here are feasible here too."""
        for point in points:
            if len(point) != self.n:
                continue
            off_eq = (
                self.a_eq is not None
                and self.b_eq is not None
                and np.abs(self.a_eq @ point - self.b_eq).max(initial=0.0) > 1e-5
            )
            off_ub = (
                self.a_ub is not None
                and self.b_ub is not None
                and (self.a_ub @ point - self.b_ub).max(initial=0.0) > 1e-5
            )
            if not (off_eq or off_ub):
                self.pool.append(point)

    def _row(self, cell: CellDef) -> np.ndarray:
        row = self._rows.get(cell)
        if row is None:
            row = self.populations[cell.population].row(cell)
            self._rows[cell] = row
        return row

    def _matrix(self, rows: list[tuple[Any, float]]) -> sp.csr_matrix | None:
        if not rows:
            return None
        data, indices, indptr = [], [], [0]
        for spec, sign in rows:
            if isinstance(spec, tuple):  # a separator: left - right = 0
                left, right = spec
                indices += [*left.tolist(), *right.tolist()]
                data += [1.0] * len(left) + [-1.0] * len(right)
            else:
                indices += spec.tolist()
                data += [sign] * len(spec)
            indptr.append(len(indices))
        return sp.csr_matrix((data, indices, indptr), shape=(len(rows), self.n))

    def _solve(self, objective: np.ndarray) -> Any | None:
        result = linprog(
            objective,
            A_ub=self.a_ub,
            b_ub=self.b_ub,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=(0, None),
            method="highs",
        )
        if result.status == 2:
            raise AuditError("The published figures contradict each other (infeasible).")
        if result.status == 3:  # unbounded: only a maximisation can be (counts are >= 0)
            return None
        if result.status != 0:
            raise AuditError(f"The solver could not bound a cell: {result.message}")
        self.pool.append(result.x)
        return result

    def _binding(self, result: Any) -> list[int]:
        found: set[int] = set()
        if self.a_eq is not None and result.eqlin is not None:
            marginals = np.asarray(result.eqlin.marginals)[: self.n_figures]
            found |= {self.eq_known[i] for i in np.flatnonzero(np.abs(marginals) > _EPS)}
        if self.a_ub is not None and result.ineqlin is not None:
            marginals = np.asarray(result.ineqlin.marginals)
            found |= {self.ub_known[i] for i in np.flatnonzero(np.abs(marginals) > _EPS)}
        return sorted(found)

    def observed(self, cell: CellDef) -> tuple[float, float] | None:
        """The range of ``cell`` over the feasible points met so far (a lower bound on the
        attacker's interval: the true interval contains every feasible point)."""
        if not self.pool:
            return None
        if self._stack is None or len(self._stack) != len(self.pool):
            self._stack = np.vstack(self.pool)
        values = self._stack[:, self._row(self._target(cell))].sum(axis=1)
        return float(values.min()), float(values.max())

    def interval(self, cell: CellDef, *, need: int | None = None) -> Interval:
        """The attacker's tightest whole-number bounds of ``cell``.

        With ``need``, stop early once feasible points already show the interval is at least
        that wide (the release check needs no more); the bounds returned are then those points'.
        """
        if need is not None:
            seen = self.observed(cell)
            if seen is not None and seen[1] - seen[0] >= need - _EPS:
                return Interval(low=math.ceil(seen[0] - _EPS), high=math.floor(seen[1] + _EPS))
        objective = np.zeros(self.n)
        objective[self._row(self._target(cell))] = 1.0
        low = self._solve(objective)
        if low is None:  # pragma: no cover - a sum of non-negative counts is bounded below
            raise AuditError("The solver found no lower bound.")
        if need is not None:
            seen = self.observed(cell)
            if seen is not None and seen[1] - seen[0] >= need - _EPS:
                return Interval(low=math.ceil(seen[0] - _EPS), high=math.floor(seen[1] + _EPS))
        high = self._solve(-objective)
        interval = Interval(
            low=max(0, math.ceil(low.fun - _EPS)),
            high=UNBOUNDED if high is None else math.floor(-high.fun + _EPS),
        )
        if need is not None and interval.width < need:
            interval.binding = sorted(
                set(self._binding(low)) | (set(self._binding(high)) if high is not None else set())
            )
        return interval

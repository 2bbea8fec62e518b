"""The attacker's audit: known attacks are caught, and the junction-tree programme gives the
same bounds as one over the whole joint table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from haven.stats.audit import Attacker, AuditError, CellDef, Known
from haven.stats.suppression import Earlier, Policy, protect
from haven.stats.tables import (
    RECEIVED,
    Cube,
    TableSpec,
    build_table,
    fill,
    month_number,
    periods,
)

DOMAIN = {"p": {"month": (1, 2), "a": ("x", "y", "z"), "b": ("u", "v")}}


def cell(**where):
    return CellDef.make("p", where)


def two_way(values, hidden):
    known = []
    for (a, b), v in values.items():
        c = cell(a=[a], b=[b])
        known.append(Known(c) if (a, b) in hidden else Known.exact(c, v))
    for a in "xyz":
        known.append(Known.exact(cell(a=[a]), sum(v for (aa, _), v in values.items() if aa == a)))
    for b in "uv":
        known.append(Known.exact(cell(b=[b]), sum(v for (_, bb), v in values.items() if bb == b)))
    known.append(Known.exact(cell(), sum(values.values())))
    return known


VALUES = {
    ("x", "u"): 3,
    ("x", "v"): 10,
    ("y", "u"): 12,
    ("y", "v"): 11,
    ("z", "u"): 15,
    ("z", "v"): 20,
}


def test_a_lone_suppressed_cell_is_derived_from_its_row_total():
    attacker = Attacker(two_way(VALUES, {("x", "u")}), DOMAIN)
    interval = attacker.interval(cell(a=["x"], b=["u"]))
    assert (interval.low, interval.high) == (3, 3)


def test_a_closed_rectangle_of_suppressions_leaves_a_range():
    hidden = {("x", "u"), ("x", "v"), ("y", "u"), ("y", "v")}
    attacker = Attacker(two_way(VALUES, hidden), DOMAIN)
    assert (
        attacker.interval(cell(a=["x"], b=["u"])).low,
        attacker.interval(cell(a=["x"], b=["u"])).high,
    ) == (0, 13)
    # y,u = u total (30) - z,u (15) - x,u, with x,u in [0, 13].
    interval = attacker.interval(cell(a=["y"], b=["u"]))
    assert (interval.low, interval.high) == (2, 15)


def test_binding_figures_are_named_when_an_interval_is_too_narrow():
    known = two_way(VALUES, {("x", "u")})
    attacker = Attacker(known, DOMAIN)
    interval = attacker.interval(cell(a=["x"], b=["u"]), need=5)
    assert interval.width == 0
    named = {known[i].cell for i in interval.binding}
    assert named & {
        cell(a=["x"], b=["v"]),
        cell(a=["x"]),
        cell(b=["u"]),
        cell(a=["y"], b=["u"]),
        cell(a=["z"], b=["u"]),
    }


def test_contradictory_figures_are_refused():
    known = [Known.exact(cell(a=["x"]), 5), Known.exact(cell(), 3)]
    with pytest.raises(AuditError, match="contradict"):
        Attacker(known, DOMAIN).interval(cell(a=["x"]))


def test_unknown_categories_are_refused():
    with pytest.raises(AuditError, match="Unknown values"):
        Attacker([Known.exact(cell(a=["w"]), 1)], DOMAIN)


def _joint_bounds(domain, known, target):
    """The same programme over the whole joint table (every combination a variable)."""
    dims = sorted(domain["p"])
    combos = list(itertools.product(*(domain["p"][d] for d in dims)))

    def row(c):
        where = dict(c.where)
        return np.array(
            [
                all(v in where.get(d, domain["p"][d]) for d, v in zip(dims, combo, strict=True))
                for combo in combos
            ],
            dtype=float,
        )

    a_eq = [row(k.cell) for k in known if k.low is not None]
    b_eq = [k.low for k in known if k.low is not None]
    objective = row(target)
    low = linprog(objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
    high = linprog(-objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
    return round(low.fun, 6), round(-high.fun, 6)


def test_junction_tree_bounds_equal_the_whole_joint_tables_on_a_cycle_of_three_tables():
    # Three two-way tables over a, b, c (a cycle: the graph needs triangulating).
    rng = np.random.default_rng(7)
    domain = {"p": {"a": (0, 1, 2), "b": (0, 1), "c": (0, 1, 2), "month": (1,)}}
    joint = {
        combo: int(rng.integers(0, 6)) for combo in itertools.product((0, 1, 2), (0, 1), (0, 1, 2))
    }

    def total(**where):
        return sum(
            v
            for (a, b, c), v in joint.items()
            if all({"a": a, "b": b, "c": c}[k] in vals for k, vals in where.items())
        )

    known = []
    hidden = {(0, 0), (1, 1)}
    for x, y in itertools.product((0, 1, 2), (0, 1)):
        ab = cell(a=[x], b=[y])
        known.append(Known(ab) if (x, y) in hidden else Known.exact(ab, total(a=[x], b=[y])))
    for y, z in itertools.product((0, 1), (0, 1, 2)):
        known.append(Known.exact(cell(b=[y], c=[z]), total(b=[y], c=[z])))
    for x, z in itertools.product((0, 1, 2), (0, 1, 2)):
        if (x, z) != (2, 2):
            known.append(Known.exact(cell(a=[x], c=[z]), total(a=[x], c=[z])))
    attacker = Attacker(known, domain)
    for target in (cell(a=[0], b=[0]), cell(a=[1], b=[1]), cell(a=[2], c=[2])):
        low, high = _joint_bounds(domain, known, target)
        got = attacker.interval(target)
        assert (got.low, got.high) == (int(np.ceil(low - 1e-6)), int(np.floor(high + 1e-6)))


# --- Known attacks on suppression, and Haven's method against them -----------------------------


def _people(months_counts):
    """A received population: (month, channel, occupation, count) rows, one person each."""
    rows = [
        (
            f"{m // 12:04d}-{m % 12 + 1:02d}",
            1,
            0,
            channel,
            occupation,
            "KP-09",
            "female",
            "25-34",
            n,
        )
        for m, channel, occupation, n in months_counts
    ]
    return {RECEIVED: Cube.from_rows(RECEIVED, rows), "outcomes": Cube.empty("outcomes")}


YEAR = 2024


def _release(cubes, spec, start, end, grain, policy, earlier=()):
    tables = [build_table(TableSpec.parse(s), period_list=periods(start, end, grain)) for s in spec]
    fill(tables, cubes)
    outcome = protect(tables, policy=policy, earlier=earlier, cubes=cubes)
    return tables, outcome


def _earlier(tables, policy):
    return Earlier(figures=[f for t in tables for f in t.figures.values()], policy=policy)


def test_difference_of_two_overlapping_queries_is_caught():
    # January to June, then January to July: July's two traders are the difference of two
    # published figures, a count nobody published. Without protection the second release
    # would show 14 traders where the first showed 12.
    from haven.stats.suppression import audit

    jan, jun, jul = month_number(YEAR, 1), month_number(YEAR, 6), month_number(YEAR, 7)
    data = (
        [(jan + i, "broker", "restaurant_worker", 4) for i in range(7)]
        + [(jan + i, "direct_line", "trader", 2) for i in range(6)]
        + [(jul, "direct_line", "trader", 2)]
    )
    cubes = _people(data)
    policy = Policy(k=10, protection=10)
    first, outcome = _release(cubes, ["people:occupation"], jan, jun, "month", policy)
    assert first[0].figure("trader").shown == 12
    naive = [
        build_table(TableSpec.parse("people:occupation"), period_list=periods(jan, jul, "month"))
    ]
    fill(naive, cubes)
    for figure in naive[0].figures.values():
        figure.shown = figure.value  # everything above k shown, as a naive release would
        figure.status = "primary" if 0 < figure.value < 10 else "published"
        if figure.status == "primary":
            figure.shown = None
    leak = audit(naive, policy=policy, earlier=[_earlier(first, policy)], cubes=cubes)
    assert not leak.passed
    assert any(f.figure.status == "implicit" and f.interval.width == 0 for f in leak.findings)
    second, outcome = _release(
        cubes, ["people:occupation"], jan, jul, "month", policy, earlier=[_earlier(first, policy)]
    )
    assert outcome.passed
    assert second[0].figure("trader").suppressed
    assert all(finding.interval.width >= 10 for finding in outcome.findings)


def test_a_total_minus_its_published_parts_is_caught():
    jan = month_number(YEAR, 1)
    cubes = _people(
        [
            (jan, "broker", "trader", 25),
            (jan, "direct_line", "trader", 3),
            (jan, "broker", "official", 30),
        ]
    )
    policy = Policy(k=10, protection=10)
    tables, outcome = _release(cubes, ["people:channel"], jan, jan, "month", policy)
    table = tables[0]
    assert table.figure("direct_line").status == "primary"
    # Partner and staff are 0 (published), the total is published: the broker figure must go.
    assert table.figure("broker").suppressed or table.figure("total").suppressed
    assert outcome.passed


def test_a_quarter_released_after_its_year_is_caught():
    jan = month_number(YEAR, 1)
    dec = month_number(YEAR, 12)
    data = [(jan + i, "broker", "trader", 3) for i in range(12)] + [
        (jan + i, "direct_line", "trader", 1) for i in (0, 4, 10)
    ]
    cubes = _people(data)
    policy = Policy(k=10, protection=10)
    year, outcome = _release(cubes, ["people:period:channel"], jan, dec, "year", policy)
    assert year[0].figure(str(YEAR), "direct_line").status == "primary"
    # The quarters alone would show Q1-Q3's direct line as 1, 1, 0... and the year's broker.
    quarters, outcome = _release(
        cubes,
        ["people:period:channel"],
        jan,
        dec,
        "quarter",
        policy,
        earlier=[_earlier(year, policy)],
    )
    assert outcome.passed
    earlier = [f for f in outcome.findings if f.earlier]
    assert earlier, "the year's kept-back figure is audited again in the quarters' release"
    assert all(f.interval.width >= 10 for f in earlier)


def test_releases_table_by_table_leak_what_the_audit_catches():
    """Two tables of one release protected each on its own (the simple method): the second
    shows, as a column total, the figure the first kept back to protect a small one."""
    from haven.stats.suppression import audit, simple_method

    jan, dec = month_number(YEAR, 1), month_number(YEAR, 12)
    data = [(jan + i, "broker", "trader", 4) for i in range(12)] + [
        (jan, "direct_line", "trader", 3),
        (jan + 3, "direct_line", "official", 2),
    ]
    cubes = _people(data)
    policy = Policy(k=10, protection=10)
    tables = [
        build_table(TableSpec.parse(s), period_list=periods(jan, dec, "year"))
        for s in ("people:channel", "people:period:channel")
    ]
    fill(tables, cubes)
    report = simple_method(tables, policy=policy, cubes=cubes)
    haven = [
        build_table(TableSpec.parse(s), period_list=periods(jan, dec, "year"))
        for s in ("people:channel", "people:period:channel")
    ]
    fill(haven, cubes)
    outcome = protect(haven, policy=policy, cubes=cubes)
    assert outcome.passed
    assert audit(haven, policy=policy, cubes=cubes).passed
    # Whatever the simple method did, the audit says honestly whether it held.
    assert report.passed == all(f.interval.width >= 10 for f in report.findings)

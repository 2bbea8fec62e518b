"""Reads of statistics: the facts (with the statistics key), the tables of a page or a release,
releases as published, and supervisors' view of where cases stand now.

Months already released are counted from the release that first published them (frozen), so
that every release of the same months agrees with every other, and the attacker's audit sees one
truth; later corrections to those months are not published (the page says how many there are).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count

from haven import access
from haven.audit.services import audit_record
from haven.crypto import CryptoError, KeyContext, MissingKeyError
from haven.stats import categories as cat
from haven.stats.audit import AuditError, CellDef
from haven.stats.models import CaseFacts, CoverCategories, FactsSnapshot, Release, ReleaseStatus
from haven.stats.store import COLUMN, VOCABULARY_ID, FactsMatrix, open_rows
from haven.stats.suppression import (
    Earlier,
    Outcome,
    Policy,
    ProtectionError,
    audit,
    protect,
)
from haven.stats.tables import (
    OUTCOMES,
    POPULATION_DIMS,
    RECEIVED,
    Cube,
    Figure,
    Table,
    TableSpec,
    build_table,
    check_range,
    fill,
    month_text,
    parse_month,
    periods,
)
from haven.vault.holders import statistics_key
from haven.vault.models import TeamKey
from haven.vault.sealed import blob_open, payload_read

if TYPE_CHECKING:
    from haven.accounts.models import User

# A page's own tables (a release chooses its own).
PAGE_TABLES = (
    TableSpec("requests", "period", "channel"),
    TableSpec("people", "period", "channel"),
    TableSpec("people", "occupation"),
    TableSpec("people", "origin"),
    TableSpec("people", "sex"),
    TableSpec("people", "age"),
    TableSpec("arrivals", "period", "third_country"),
    TableSpec("outcomes", "period", "outcome"),
)
FILTER_DIMENSIONS = ("channel", "occupation", "origin", "sex", "age")
# A page gives up protecting its tables after this long (every figure then shows as kept back,
# with the reason); a release takes the time it needs.
PAGE_SECONDS = 20.0
SNAPSHOT_AFTER = 100  # rows changed since the snapshot before a page seals a new one
_CHUNK = 500


class StatisticsKeyMissing(PermissionDenied):
    """The acting person does not hold the statistics key (yet)."""


def statistics_key_held(ctx: KeyContext) -> TeamKey:
    """The active statistics key, which ``ctx`` must hold (press officers once a supervisor
    shared it; supervisors through their own key)."""
    key = statistics_key()
    if key is None or key.ref not in ctx.holder_refs():
        raise StatisticsKeyMissing(
            "You do not hold the statistics key yet: a supervisor shares it on the Keys page."
        )
    return key


def _require(user: User, action: str) -> None:
    if not access.allowed(user, action):
        raise PermissionDenied("Your role cannot see statistics.")


# --- The facts ------------------------------------------------------------------------------------


def _current_ids() -> np.ndarray:
    table = connection.ops.quote_name(CaseFacts._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table}")  # noqa: S608  # nosec B608  # the model's own table name
        ids = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    ids.sort()
    return ids


def _snapshot(ctx: KeyContext) -> tuple[FactsMatrix, dict[str, Any]]:
    snapshot = FactsSnapshot.objects.order_by("-created_at").first()
    if snapshot is None:
        return FactsMatrix.empty(), {}
    try:
        header = payload_read(ctx=ctx, record=snapshot)
        if header.get("vocabulary") != VOCABULARY_ID:
            return FactsMatrix.empty(), {}  # the code lists changed: rebuilt from the rows
        blob = blob_open(ctx=ctx, record=snapshot, part="matrix", blob=bytes(snapshot.matrix))
        return FactsMatrix.from_bytes(blob), header
    except (CryptoError, ValueError):
        return FactsMatrix.empty(), {}


def _unchanged_below(header: dict[str, Any], base: FactsMatrix) -> bool:
    """Whether the rows up to the snapshot's last id are still exactly its rows: their count and
    the sum of their ids as the snapshot recorded them (a row replaced or deleted since, or one
    that committed late with a smaller id, changes one or the other)."""
    if not len(base) or "max" not in header:
        return False
    table = connection.ops.quote_name(CaseFacts._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(id), 0) FROM {table} WHERE id <= %s",  # noqa: S608  # nosec B608  # the model's own table name
            [int(header["max"])],
        )
        count, total = cursor.fetchone()
    return (int(count), int(total)) == (int(header["count"]), int(header["sum"]))


@dataclass
class Loaded:
    matrix: FactsMatrix
    changed: int  # rows opened one by one (written since the snapshot) and rows gone

    @property
    def stale(self) -> bool:
        return self.changed > max(SNAPSHOT_AFTER, len(self.matrix) // 50)


def _cover_categories(ctx: KeyContext, ids: set[Any]) -> dict[Any, dict[str, Any]]:
    """The cover categories (haven.disclosure's cover values, as statistics count them) of the
    facts rows about to be read; one that does not open is ignored (the true ones count)."""
    ids.discard(None)
    found: dict[Any, dict[str, Any]] = {}
    for cover_id, team_key_id, sealed in CoverCategories.objects.filter(pk__in=ids).values_list(
        "pk", "team_key_id", "sealed"
    ):
        try:
            opened = ctx.facts_open(f"t:{team_key_id}", bytes(sealed))
        except (CryptoError, ValueError):
            continue
        found[cover_id] = {k: v for k, v in opened.items() if k in ("oc", "pr")}
    return found


def facts_load(*, ctx: KeyContext) -> Loaded:
    """Every case's facts: the snapshot, plus the rows written since, minus those gone. When
    nothing below the snapshot's last id changed (the usual case), only newer rows are read."""
    statistics_key_held(ctx)
    base, header = _snapshot(ctx)
    if _unchanged_below(header, base):
        gone = np.zeros(0, dtype=np.int64)
        rows = list(
            CaseFacts.objects.filter(pk__gt=int(header["max"])).values_list(
                "pk", "team_key_id", "sealed", "cover_id"
            )
        )
        new = np.array([row[0] for row in rows], dtype=np.int64)
        chunks = [rows]
    else:
        current = _current_ids()
        gone = np.setdiff1d(base.ids, current, assume_unique=True)
        new = np.setdiff1d(current, base.ids, assume_unique=True)
        chunks = [
            list(
                CaseFacts.objects.filter(
                    pk__in=[int(i) for i in new[start : start + _CHUNK]]
                ).values_list("pk", "team_key_id", "sealed", "cover_id")
            )
            for start in range(0, len(new), _CHUNK)
        ]
    added_ids: list[int] = []
    added_rows: list[list[int]] = []
    bad = 0
    covers = _cover_categories(ctx, {row[3] for chunk in chunks for row in chunk})
    try:
        for chunk in chunks:
            ids, encoded, failed = open_rows(ctx, chunk, covers)
            added_ids += ids
            added_rows += encoded
            bad += failed
    except MissingKeyError as exc:  # pragma: no cover - statistics_key_held checked it
        raise StatisticsKeyMissing(str(exc)) from exc
    matrix = base.merged(gone, added_ids, added_rows) if (len(gone) or added_ids) else base
    matrix.unreadable = bad
    return Loaded(matrix=matrix, changed=len(new) + len(gone))


# --- Cubes, frozen where released ------------------------------------------------------------------


@dataclass
class Opened:
    release: Release
    data: dict[str, Any]


def published_overlapping(*, start: int, end: int) -> list[Release]:
    """Published releases sharing a month with [start, end], oldest first."""
    found = []
    for release in Release.objects.filter(status=ReleaseStatus.PUBLISHED).order_by(
        "published_at", "pk"
    ):
        first = parse_month(release.start, field_name="start")
        last = parse_month(release.end, field_name="end")
        if first <= end and start <= last:
            found.append(release)
    return found


def _months(release: Release) -> set[int]:
    return set(
        range(
            parse_month(release.start, field_name="start"),
            parse_month(release.end, field_name="end") + 1,
        )
    )


def _in_months(column: np.ndarray, months: set[int]) -> np.ndarray:
    """Which entries of a month column are in ``months`` (a lookup table, not a search)."""
    if not months or not len(column):
        return np.zeros(len(column), dtype=bool)
    low, high = min(months), max(months)
    table = np.zeros(high - low + 1, dtype=bool)
    table[[m - low for m in months]] = True
    inside = (column >= low) & (column <= high)
    keep = np.zeros(len(column), dtype=bool)
    keep[inside] = table[column[inside] - low]
    return keep


def _from_matrix(matrix: FactsMatrix, population: str, months: set[int]) -> Cube:
    if not months or not len(matrix):
        return Cube.empty(population)
    month_column = matrix.column("rm" if population == RECEIVED else "om")
    rows = matrix.data[_in_months(month_column, months)]
    return Cube.from_matrix(population, rows, COLUMN)


def _durations(matrix: FactsMatrix, months: set[int]) -> np.ndarray:
    """(month of arrival, days from request) of each arrival in ``months``."""
    if not months or not len(matrix):
        return np.zeros((0, 2), dtype=np.int64)
    arrived = cat_index("out", "arrived")
    data = matrix.data
    keep = (
        (data[:, COLUMN["out"]] == arrived)
        & (data[:, COLUMN["dup"]] == 0)
        & (data[:, COLUMN["da"]] >= 0)
        & _in_months(data[:, COLUMN["om"]], months)
    )
    return data[keep][:, [COLUMN["om"], COLUMN["da"]]].astype(np.int64)


def cat_index(field_name: str, code: str) -> int:
    from haven.stats.store import VOCABULARY

    return VOCABULARY[field_name].index(code)


def figure_to_json(figure: Figure) -> list[Any]:
    return [
        figure.row,
        figure.col,
        figure.cell.population,
        [[dim, list(values)] for dim, values in figure.cell.where],
        figure.value,
        figure.status,
        figure.shown,
        list(figure.interval) if figure.interval else None,
    ]


def figure_from_json(item: list[Any]) -> Figure:
    row, col, population, where, value, status, shown, interval = item
    cell = CellDef(
        population=population, where=tuple((dim, tuple(values)) for dim, values in where)
    )
    return Figure(
        row=row,
        col=col,
        cell=cell,
        value=int(value),
        status=status,
        shown=shown,
        interval=(int(interval[0]), int(interval[1])) if interval else None,
    )


def _policy_of(release: Release) -> Policy:
    return Policy(
        method=release.policy,
        k=release.k,
        protection=release.protection,
        zeros=release.zeros_disclosive,
        base=release.rounding_base,
    )


def _earlier(opened: Opened) -> Earlier:
    figures = [
        figure_from_json(item)
        for table in opened.data.get("tables", [])
        for item in table["figures"]
    ]
    return Earlier(figures=figures, policy=_policy_of(opened.release))


@dataclass
class Computed:
    """Tables of a range with their true values, and what the attacker already knows."""

    tables: list[Table]
    earlier: list[Earlier]
    earlier_ids: list[str]
    cubes: dict[str, Cube]
    durations: np.ndarray  # (month, days) of each arrival
    loaded: Loaded | None
    frozen_months: int = 0
    late_changes: int = 0


def computed_tables(
    *,
    ctx: KeyContext,
    actor: User,
    start: int,
    end: int,
    grain: str,
    specs: list[TableSpec],
    policy: Policy,
    filters: dict[str, tuple[str, ...]] | None = None,
    loaded: Loaded | None = None,
) -> Computed:
    """Every figure of ``specs`` over [start, end], months already released counted as they
    were released."""
    loaded = loaded or facts_load(ctx=ctx)
    months = set(range(start, end + 1))
    opened = [
        Opened(release=release, data=payload_read(ctx=ctx, record=release))
        for release in published_overlapping(start=start, end=end)
    ]
    cubes: dict[str, Cube] = {}
    remaining = set(months)
    parts: dict[str, list[Cube]] = {RECEIVED: [], OUTCOMES: []}
    frozen_durations: list[list[int]] = []
    late = 0
    for item in opened:
        mine = _months(item.release) & remaining
        if not mine:
            continue
        for population in (RECEIVED, OUTCOMES):
            frozen = Cube.from_rows(population, item.data["cubes"][population]).only_months(mine)
            parts[population].append(frozen)
            live = _from_matrix(loaded.matrix, population, mine)
            late += abs(int(live.counts.sum()) - int(frozen.counts.sum()))
        frozen_durations += [
            [parse_month(m, field_name="durations"), days]
            for m, days in item.data.get("durations", [])
            if parse_month(m, field_name="durations") in mine
        ]
        remaining -= mine
    for population in (RECEIVED, OUTCOMES):
        parts[population].append(_from_matrix(loaded.matrix, population, remaining))
        cubes[population] = Cube.join(population, parts[population])
    durations = np.concatenate(
        [
            np.array(frozen_durations, dtype=np.int64).reshape(-1, 2),
            _durations(loaded.matrix, remaining),
        ]
    )
    period_list = periods(start, end, grain)
    tables = [build_table(spec, period_list=period_list, filters=filters) for spec in specs]
    fill(tables, cubes)
    return Computed(
        tables=tables,
        earlier=[_earlier(item) for item in opened],
        earlier_ids=[str(item.release.pk) for item in opened],
        cubes=cubes,
        durations=durations,
        loaded=loaded,
        frozen_months=len(months) - len(remaining),
        late_changes=late,
    )


def arrival_times(durations: Any, *, k: int) -> dict[str, Any]:
    """Days from request to arrival: how many, and the median and quartiles in whole weeks, only
    when at least ``k`` people arrived (a quartile of three is someone's own journey).
    ``durations``: (month, days) pairs."""
    if isinstance(durations, np.ndarray):
        days = durations[:, 1] if len(durations) else np.zeros(0, dtype=np.int64)
    else:  # a release's stored pairs ("YYYY-MM", days)
        days = np.array([int(pair[1]) for pair in durations], dtype=np.int64)
    if len(days) < k:
        return {"n": len(days), "shown": False}
    # The same as statistics.quantiles(..., method="inclusive"): linear between order statistics.
    q1, median, q3 = np.percentile(days, [25, 50, 75])
    return {
        "n": len(days),
        "shown": True,
        "q1_weeks": round(float(q1) / 7),
        "median_weeks": round(float(median) / 7),
        "q3_weeks": round(float(q3) / 7),
    }


def release_payload(
    *, title: str, computed: Computed, outcome: Outcome, earlier_ids: list[str]
) -> dict[str, Any]:
    return {
        "title": title,
        "cubes": {population: cube.rows() for population, cube in computed.cubes.items()},
        "durations": [[month_text(int(m)), int(d)] for m, d in computed.durations.tolist()],
        "earlier": earlier_ids,
        "tables": [
            {
                "spec": table.spec.key,
                "rows": table.row_codes,
                "cols": table.col_codes,
                "labels": table.row_labels,
                "figures": [figure_to_json(f) for f in table.figures.values()],
            }
            for table in outcome.tables
        ],
        "loss": outcome.loss(),
        "solves": outcome.solves,
    }


# --- A page of statistics ---------------------------------------------------------------------------


@dataclass
class Page:
    tables: list[Table]
    outcome: Outcome
    arrival: dict[str, Any]
    start: int
    end: int
    grain: str
    policy: Policy
    filters: dict[str, tuple[str, ...]]
    loaded: Loaded
    frozen_months: int = 0
    late_changes: int = 0
    error: str = ""
    earlier: int = 0


def default_range(today: Any) -> tuple[str, str]:
    """January of last year to the last closed month."""
    last = today.year * 12 + today.month - 2
    return month_text(min((today.year - 1) * 12, last)), month_text(last)


def clean_filters(raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Category filters from input; an unknown category is a clear error, never ignored."""
    cleaned: dict[str, tuple[str, ...]] = {}
    for dimension, values in raw.items():
        if dimension not in FILTER_DIMENSIONS:
            raise ValidationError({dimension: "Statistics cannot be filtered by this."})
        values = [values] if isinstance(values, str) else list(values or [])
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            continue
        unknown = [v for v in values if v not in cat.DIMENSIONS[dimension]]
        if unknown:
            raise ValidationError(
                {
                    dimension: f"Unknown {dimension} “{unknown[0]}”: one of "
                    f"{', '.join(cat.DIMENSIONS[dimension])}."
                }
            )
        cleaned[dimension] = tuple(sorted(set(values)))
    return cleaned


def _pattern_key(computed: Computed, policy: Policy, specs: list[TableSpec], filters: Any) -> str:
    # What the suppression pattern depends on: the counts, the tables, the policy and the
    # earlier releases. Kept in memory: which figures are kept back and the attacker's bounds
    # (what the page shows anyway), never a count that is kept back.
    digest = hashlib.blake2b(digest_size=16, person=b"haven-stats-pat")
    for population in (RECEIVED, OUTCOMES):
        cube = computed.cubes[population]
        digest.update(cube.atoms.tobytes())
        digest.update(cube.counts.tobytes())
    digest.update(
        json.dumps(
            [
                [s.key for s in specs],
                sorted((k, list(v)) for k, v in (filters or {}).items()),
                [policy.method, policy.k, policy.protection, policy.zeros, policy.base],
                computed.earlier_ids,
                [t.row_codes for t in computed.tables],
            ]
        ).encode()
    )
    return "haven:stats:pattern:" + digest.hexdigest()


def statistics_page(
    *,
    ctx: KeyContext,
    actor: User,
    start: Any,
    end: Any,
    grain: str,
    filters: dict[str, tuple[str, ...]],
    policy: Policy,
    today: Any,
) -> Page:
    """The statistics page: the page's tables over closed months, protected and audited as a
    release would be (with every published release), with the facts read afresh."""
    _require(actor, "stats.read")
    first = parse_month(start, field_name="start")
    last = parse_month(end, field_name="end")
    check_range(first, last, today=today, closed_only=True)
    if grain not in ("year", "quarter", "month"):
        raise ValidationError({"grain": "Choose year, quarter or month."})
    specs = list(PAGE_TABLES)
    computed = computed_tables(
        ctx=ctx,
        actor=actor,
        start=first,
        end=last,
        grain=grain,
        specs=specs,
        policy=policy,
        filters=filters,
    )
    loaded = computed.loaded or facts_load(ctx=ctx)  # computed_tables always loads
    key = _pattern_key(computed, policy, specs, filters)
    remembered = cache.get(key)
    error = ""
    figures = [f for table in computed.tables for f in table.figures.values()]
    if remembered is not None and len(remembered) == len(figures):
        for figure, (status, interval) in zip(figures, remembered, strict=True):
            figure.status = status
            figure.shown = (
                None
                if status in ("primary", "secondary")
                else (policy.rounded(figure.value) if status == "rounded" else figure.value)
            )
            figure.interval = (int(interval[0]), int(interval[1])) if interval else None
        outcome = Outcome(tables=computed.tables)
    else:
        try:
            # No second pass to show complementary figures again: the page stays quick, and may
            # keep back a little more than a release of the same tables would.
            outcome = protect(
                computed.tables,
                policy=policy,
                earlier=computed.earlier,
                cubes=computed.cubes,
                prune=False,
                seconds=PAGE_SECONDS,
            )
        except (ProtectionError, AuditError) as exc:
            error = str(exc)
            for figure in figures:
                figure.status, figure.shown = "secondary", None
            outcome = Outcome(tables=computed.tables)
        else:
            cache.set(
                key,
                [(f.status, list(f.interval) if f.interval else None) for f in figures],
                600,
            )
    audit_record(
        actor=actor,
        action="stats.view",
        detail={"start": month_text(first), "end": month_text(last), "grain": grain},
    )
    return Page(
        tables=computed.tables,
        outcome=outcome,
        arrival=arrival_times(computed.durations, k=policy.k),
        start=first,
        end=last,
        grain=grain,
        policy=policy,
        filters=filters,
        loaded=loaded,
        frozen_months=computed.frozen_months,
        late_changes=computed.late_changes,
        error=error,
        earlier=len(computed.earlier),
    )


# --- Releases -------------------------------------------------------------------------------------


def release_list(*, user: User) -> list[Release]:
    _require(user, "stats.read")
    return list(
        Release.objects.exclude(status=ReleaseStatus.DISCARDED)
        .select_related("prepared_by", "approved_by")
        .order_by("-prepared_at")[:200]
    )


def release_get(*, user: User, release_id: Any) -> Release:
    from django.http import Http404

    _require(user, "stats.read")
    release = (
        Release.objects.filter(pk=release_id).select_related("prepared_by", "approved_by").first()
    )
    if release is None:
        raise Http404("No such release.")
    return release


@dataclass
class ReleaseView:
    release: Release
    title: str
    tables: list[Table]
    loss: dict[str, Any]
    arrival: dict[str, Any]
    solves: int = 0
    earlier: list[str] = field(default_factory=list)


def _tables_of(data: dict[str, Any]) -> list[Table]:
    tables = []
    for item in data.get("tables", []):
        spec = TableSpec.parse(item["spec"])
        table = Table(spec=spec, row_codes=item["rows"], col_codes=item["cols"])
        table.row_labels = item.get("labels", {})
        for raw in item["figures"]:
            figure = figure_from_json(raw)
            table.figures[(figure.row, figure.col)] = figure
        tables.append(table)
    return tables


def release_view(*, ctx: KeyContext, user: User, release: Release) -> ReleaseView:
    """A release as it stands: its figures (with what is kept back and the attacker's bounds)."""
    _require(user, "stats.read")
    statistics_key_held(ctx)
    data = payload_read(ctx=ctx, record=release)
    audit_record(actor=user, action="stats.release_read", target=release)
    return ReleaseView(
        release=release,
        title=data.get("title", ""),
        tables=_tables_of(data),
        loss=data.get("loss", {}),
        arrival=arrival_times(data.get("durations", []), k=release.k),
        solves=int(data.get("solves", 0)),
        earlier=list(data.get("earlier", [])),
    )


def release_audit(
    *, ctx: KeyContext, release: Release, data: dict[str, Any] | None = None
) -> Outcome:
    """The attacker's audit of a release as marked, against every release published before it
    (or, for one not yet published, before now): each kept-back figure's interval."""
    data = data if data is not None else payload_read(ctx=ctx, record=release)
    first = parse_month(release.start, field_name="start")
    last = parse_month(release.end, field_name="end")
    others = [
        other
        for other in published_overlapping(start=first, end=last)
        if other.pk != release.pk
        and (
            release.published_at is None
            or (other.published_at or release.published_at) < release.published_at
        )
    ]
    earlier = [_earlier(Opened(release=o, data=payload_read(ctx=ctx, record=o))) for o in others]
    cubes = {
        population: Cube.from_rows(population, data.get("cubes", {}).get(population, []))
        for population in (RECEIVED, OUTCOMES)
    }
    return audit(_tables_of(data), policy=_policy_of(release), earlier=earlier, cubes=cubes)


def releases_audit(*, ctx: KeyContext, actor: User) -> list[tuple[Release, Outcome]]:
    """`haven stats audit`: every published release audited against those before it."""
    _require(actor, "stats.read")
    statistics_key_held(ctx)
    results = []
    for release in Release.objects.filter(status=ReleaseStatus.PUBLISHED).order_by("published_at"):
        results.append((release, release_audit(ctx=ctx, release=release)))
    audit_record(actor=actor, action="stats.audit", detail={"releases": len(results)})
    return results


def release_export(
    *, ctx: KeyContext, user: User, release: Release, fmt: str, language: str
) -> tuple[bytes, str, str]:
    """A published release as a file (CSV, XLSX, HXL-tagged CSV, or the charts as SVG): what was
    published, nothing kept back. Audited. Returns (content, file name, content type)."""
    from haven.stats import exports

    _require(user, "stats.read")
    if release.status != ReleaseStatus.PUBLISHED:
        raise ValidationError({"format": "Only a published release can be exported."})
    if fmt not in exports.FORMATS:
        raise ValidationError({"format": f"Choose one of {', '.join(exports.FORMATS)}."})
    view = release_view(ctx=ctx, user=user, release=release)
    content, name, content_type = exports.export(view, fmt=fmt, language=language)
    audit_record(actor=user, action="stats.export", target=release, detail={"format": fmt})
    return content, name, content_type


# --- Supervisors: where cases stand now (never published) -----------------------------------------


@dataclass
class JourneyNow:
    by_state: list[tuple[str, int]]
    on_the_move: list[tuple[str, str, int]]  # state, country, count


def journey_now(*, user: User) -> JourneyNow:
    """Cases by current journey state, and people on the move by state and country: for
    supervisors' own page only (it is exactly what must never be published)."""
    from haven.cases.journey import EXPOSED, State
    from haven.cases.selectors import case_queryset
    from haven.cases.tallies import visible_counts

    if not access.allowed(user, "stats.internal"):
        raise PermissionDenied("Only supervisors see where cases stand now.")
    states: dict[str, int] = {}
    for (state, _urgency), n in visible_counts(user).items():
        states[state] = states.get(state, 0) + n
    moving = [
        (row["state"], row["country"], row["n"])
        for row in case_queryset(user=user)
        .order_by()
        .filter(state__in=list(EXPOSED))
        .values("state", "country")
        .annotate(n=Count("*"))
        .order_by("state", "country")
    ]
    return JourneyNow(
        by_state=[(state.value, states.get(state.value, 0)) for state in State],
        on_the_move=moving,
    )


def facts_missing() -> int:
    """Cases without sealed facts (recorded before statistics existed): not counted yet."""
    from haven.cases.models import Case

    # Two counts each answered from an index, rather than an anti-join over every case.
    return Case.objects.count() - CaseFacts.objects.filter(case__isnull=False).count()


__all__ = [
    "POPULATION_DIMS",
    "StatisticsKeyMissing",
    "facts_load",
    "journey_now",
    "release_view",
    "statistics_page",
]

"""Statistics pages: the figures (press officers and supervisors), releases, and supervisors' view
of where cases stand now. Figures, charts and exports can be shown in English, Korean or Chinese
(``?lang=``), whatever the language of the rest of the interface."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from haven import access
from haven.errors import ConflictError
from haven.stats import categories as cat
from haven.stats import selectors, services
from haven.stats.charts import chart_svg, table_html
from haven.stats.exports import LANGUAGES
from haven.stats.selectors import PAGE_TABLES, StatisticsKeyMissing
from haven.stats.tables import GRAINS, MEASURES, Table, TableSpec
from haven.web.views.common import actor, ctx, query_without

LANGUAGE_NAMES = (("en", "English"), ("ko", "한국어"), ("zh-hans", "中文"))
# Tables a release is usually made of; others can be typed as measure:rows[:columns].
CATALOGUE = (
    *PAGE_TABLES,
    TableSpec("people", "period", "occupation"),
    TableSpec("people", "channel", "occupation"),
    TableSpec("people", "period", "origin"),
    TableSpec("arrivals", "period", "channel"),
    TableSpec("arrivals", "origin"),
    TableSpec("outcomes", "period", "channel"),
)


def _require(request: HttpRequest, action: str) -> Any:
    user = actor(request)
    if not access.allowed(user, action):
        raise PermissionDenied(_("Your role cannot see statistics."))
    return user


def _language(request: HttpRequest) -> str:
    wanted = request.GET.get("lang") or translation.get_language() or "en"
    return wanted if wanted in LANGUAGES else "en"


def _default_range() -> tuple[str, str]:
    return selectors.default_range(timezone.localdate())


def _choices(dimension: str) -> list[tuple[str, Any]]:
    return [(code, label) for code, label in cat.DIMENSIONS[dimension].items()]


class PageForm(forms.Form):
    start = forms.CharField(label=gettext_lazy("From (YYYY-MM)"), max_length=7)
    end = forms.CharField(label=gettext_lazy("To (YYYY-MM, a closed month)"), max_length=7)
    grain = forms.ChoiceField(label=gettext_lazy("By"), choices=list(GRAINS.items()))
    channel = forms.MultipleChoiceField(required=False, choices=_choices("channel"))
    occupation = forms.MultipleChoiceField(required=False, choices=_choices("occupation"))
    origin = forms.MultipleChoiceField(required=False, choices=_choices("origin"))
    sex = forms.MultipleChoiceField(required=False, choices=_choices("sex"))
    age = forms.MultipleChoiceField(required=False, choices=_choices("age"))


class ReleaseForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    start = forms.CharField(label=gettext_lazy("From (YYYY-MM)"), max_length=7)
    end = forms.CharField(label=gettext_lazy("To (YYYY-MM, a closed month)"), max_length=7)
    grain = forms.ChoiceField(label=gettext_lazy("By"), choices=list(GRAINS.items()))
    tables = forms.MultipleChoiceField(
        label=gettext_lazy("Tables"),
        required=False,
        # Each table by its title in the page's language; its key is the value sent.
        choices=[(spec.key, lazy(lambda spec=spec: spec.title(), str)()) for spec in CATALOGUE],
        widget=forms.CheckboxSelectMultiple,
    )
    more = forms.CharField(
        label=gettext_lazy("Other tables (measure:rows:columns, one per line)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    policy = forms.ChoiceField(
        label=gettext_lazy("Policy"),
        choices=[
            ("suppress", gettext_lazy("Keep small figures back")),
            ("round", gettext_lazy("Round every figure")),
        ],
    )
    k = forms.CharField(
        label=gettext_lazy("Smallest figure shown (k)"), required=False, max_length=5
    )
    protection = forms.CharField(
        label=gettext_lazy("Protection level"), required=False, max_length=5
    )
    zeros = forms.BooleanField(label=gettext_lazy("Zeros are disclosive too"), required=False)
    rounding_base = forms.CharField(label=gettext_lazy("Round to"), required=False, max_length=3)


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1)


def _render_tables(tables: list[Table]) -> list[dict[str, Any]]:
    # Markup built from escaped text (haven.stats.charts): the figures of a page are hundreds of
    # cells, which the template engine renders several times slower.
    return [
        {
            "title": table.spec.title(),
            "svg": mark_safe(chart_svg(table, title=table.spec.title(), chart_id=f"chart{i}")),  # noqa: S308  # nosec B308 B703
            "table": mark_safe(table_html(table, show_intervals=True)),  # noqa: S308  # nosec B308 B703
        }
        for i, table in enumerate(tables)
    ]


def _filter_choices(chosen: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    # Plain lists for the template: Django's widgets render several times slower.
    return [
        {
            "name": dimension,
            "label": cat.DIMENSION_LABELS[dimension],
            "options": [
                (code, label, code in chosen.get(dimension, ()))
                for code, label in cat.DIMENSIONS[dimension].items()
            ],
        }
        for dimension in selectors.FILTER_DIMENSIONS
    ]


def _no_key(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {**context, "no_key": True})


@login_required
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    user = _require(request, "stats.read")
    language = _language(request)
    first, last = _default_range()
    data = request.GET if "start" in request.GET else {"start": first, "end": last, "grain": "year"}
    form = PageForm(data)
    context: dict[str, Any] = {
        "form": form,
        "languages": LANGUAGE_NAMES,
        "lang": language,
        "grains": list(GRAINS.items()),
        "choices": _filter_choices({}),
    }
    with translation.override(language):
        if not form.is_valid():
            return render(request, "web/stats/page.html", context, status=400)
        try:
            filters = selectors.clean_filters(
                {d: form.cleaned_data[d] for d in selectors.FILTER_DIMENSIONS}
            )
            page = selectors.statistics_page(
                ctx=ctx(request),
                actor=user,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                grain=form.cleaned_data["grain"],
                filters=filters,
                policy=services.default_policy(),
                today=timezone.localdate(),
            )
        except StatisticsKeyMissing:
            return _no_key(request, "web/stats/page.html", context)
        except ValidationError as exc:
            context["errors"] = exc.messages
            return render(request, "web/stats/page.html", context, status=400)
        if page.loaded.stale:
            services.facts_snapshot_write(ctx=ctx(request), actor=user, matrix=page.loaded.matrix)
        context.update(
            {
                "page": page,
                "choices": _filter_choices(page.filters),
                "tables": _render_tables(page.tables),
                "missing": selectors.facts_missing()
                if access.allowed(user, "stats.internal")
                else None,
                # The language links add their own ``lang``: one already in the address would
                # pile up with every click.
                "query": query_without(request, "lang"),
            }
        )
        return render(request, "web/stats/page.html", context)


@login_required
@require_POST
def stats_count_missing(request: HttpRequest) -> HttpResponse:
    user = _require(request, "stats.internal")
    try:
        done, left = services.case_facts_backfill(ctx=ctx(request), actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(done)d cases counted; %(left)d still to count.") % {"done": done, "left": left},
        )
    return redirect("web:stats")


@login_required
@require_GET
def stats_now(request: HttpRequest) -> HttpResponse:
    user = _require(request, "stats.internal")
    from haven.cases.journey import State

    now = selectors.journey_now(user=user)
    return render(
        request,
        "web/stats/now.html",
        {
            "states": [(State(s).label, n) for s, n in now.by_state],
            "moving": [(State(s).label, country, n) for s, country, n in now.on_the_move],
        },
    )


@login_required
def release_list(request: HttpRequest) -> HttpResponse:
    user = _require(request, "stats.read")
    first, last = _default_range()
    form = ReleaseForm(
        request.POST if request.method == "POST" else None,
        initial={
            "start": first,
            "end": last,
            "grain": "year",
            "policy": "suppress",
            "tables": [spec.key for spec in PAGE_TABLES[:3]],
        },
    )
    status = 200
    if request.method == "POST":
        if not access.allowed(user, "stats.prepare"):
            raise PermissionDenied(_("Your role cannot prepare statistics."))
        if form.is_valid():
            data = form.cleaned_data
            typed = [line.strip() for line in data["more"].splitlines() if line.strip()]
            try:
                policy = services.policy_clean(
                    method=data["policy"],
                    k=data["k"],
                    protection=data["protection"],
                    zeros=data["zeros"],
                    base=data["rounding_base"],
                )
                ask = services.release_request_clean(
                    start=data["start"],
                    end=data["end"],
                    grain=data["grain"],
                    tables=[*data["tables"], *typed],
                    policy=policy,
                    title=data["title"],
                )
                release = services.release_prepare(ctx=ctx(request), actor=user, ask=ask)
            except StatisticsKeyMissing as exc:
                messages.error(request, str(exc))
                status = 403
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                status = 400
            else:
                messages.success(
                    request,
                    _(
                        "Prepared and audited. A supervisor other than you approves it to publish it."
                    ),
                )
                return redirect("web:stats_release", release_id=release.pk)
        else:
            status = 400
    return render(
        request,
        "web/stats/releases.html",
        {
            "releases": selectors.release_list(user=user),
            "form": form,
            "may_prepare": access.allowed(user, "stats.prepare"),
            "measures": MEASURES,
        },
        status=status,
    )


@login_required
@require_GET
def release_detail(request: HttpRequest, release_id: Any) -> HttpResponse:
    user = _require(request, "stats.read")
    release = selectors.release_get(user=user, release_id=release_id)
    language = _language(request)
    context: dict[str, Any] = {"release": release, "languages": LANGUAGE_NAMES, "lang": language}
    with translation.override(language):
        try:
            view = selectors.release_view(ctx=ctx(request), user=user, release=release)
        except StatisticsKeyMissing:
            return _no_key(request, "web/stats/release.html", context)
        context.update(
            {
                "view": view,
                "tables": _render_tables(view.tables),
                "may_approve": access.allowed(user, "stats.approve")
                and release.prepared_by_id != user.pk,
                "may_discard": access.allowed(user, "stats.prepare"),
            }
        )
        return render(request, "web/stats/release.html", context)


def _versioned_action(request: HttpRequest, release_id: Any, action: str) -> HttpResponse:
    user = _require(request, "stats.read")
    release = selectors.release_get(user=user, release_id=release_id)  # unknown ids: 404 first
    _require(request, "stats.approve" if action == "approve" else "stats.prepare")
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; nothing was changed."))
        return redirect("web:stats_release", release_id=release.pk)
    service = services.release_approve if action == "approve" else services.release_discard
    try:
        service(
            ctx=ctx(request),
            actor=user,
            release=release,
            expected_version=form.cleaned_data["version"],
        )
    except ConflictError:
        messages.error(request, _("Someone else changed this release; nothing was changed."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Published.") if action == "approve" else _("Set aside."))
    return redirect("web:stats_release", release_id=release.pk)


@login_required
@require_POST
def release_approve(request: HttpRequest, release_id: Any) -> HttpResponse:
    return _versioned_action(request, release_id, "approve")


@login_required
@require_POST
def release_discard(request: HttpRequest, release_id: Any) -> HttpResponse:
    return _versioned_action(request, release_id, "discard")


@login_required
@require_GET
def release_export(request: HttpRequest, release_id: Any) -> HttpResponse:
    user = _require(request, "stats.read")
    release = selectors.release_get(user=user, release_id=release_id)
    fmt = request.GET.get("format", "csv")
    try:
        content, name, content_type = selectors.release_export(
            ctx=ctx(request), user=user, release=release, fmt=fmt, language=_language(request)
        )
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from exc
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""Statistics pages, the API and the exports (validated as HXL with libhxl, and as XLSX)."""

from __future__ import annotations

import csv
import io
import re

import hxl
import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from haven.stats import services
from haven.stats.models import Release
from tests.factories import ctx_for, login
from tests.stats.conftest import seed_story, story_years

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(ctx, alice, heidi, heidi_ctx, ivan):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    ask = services.release_request_clean(
        start=f"{last}-01",
        end=f"{this}-06",
        grain="year",
        tables=["requests:period:channel", "people:period:occupation", "people:origin"],
        policy=services.default_policy(),
        title='=HYPERLINK("http://x")',
    )
    release = services.release_prepare(ctx=heidi_ctx, actor=heidi, ask=ask)
    return services.release_approve(
        ctx=ctx_for(ivan), actor=ivan, release=release, expected_version=1
    )


def test_the_statistics_page_shows_charts_beside_their_tables_without_javascript(
    client, ctx, alice, heidi
):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    login(client, heidi)
    response = client.get(
        reverse("web:stats"), {"start": f"{last}-01", "end": f"{this}-06", "grain": "year"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" not in html
    assert html.count("<svg") == html.count("<table>") - 0 >= 8 or html.count("<svg") >= 8
    assert 'role="img"' in html and "<caption" in html
    assert "style=" not in html.split("<main>")[1]  # the CSP allows no inline style
    assert ">x</abbr>" in html  # something small was kept back
    assert "Time from request to arrival" in html


@pytest.mark.parametrize("lang, word", [("ko", "통계"), ("zh-hans", "统计"), ("en", "Statistics")])
def test_figures_come_in_korean_english_and_chinese(client, ctx, alice, heidi, lang, word):
    login(client, heidi)
    response = client.get(reverse("web:stats"), {"lang": lang})
    assert response.status_code == 200
    assert word in response.content.decode()


def test_the_language_links_replace_the_language_instead_of_adding_another(client, heidi):
    login(client, heidi)
    response = client.get(reverse("web:stats"), {"lang": "ko", "grain": "year"})
    assert response.status_code == 200
    links = re.findall(r'<a lang="[^"]+" href="\?([^"]*)"', response.content.decode())
    assert len(links) == 2  # English and Chinese; Korean is the current one
    for link in links:
        params = link.replace("&amp;", "&").split("&")
        assert sum(p.startswith("lang=") for p in params) == 1
        assert "grain=year" in params  # the rest of the address is kept


@pytest.mark.parametrize(
    "lang, words",
    [("en", "organisation's own use"), ("ko", "기관 내부용"), ("zh-hans", "内部使用")],
)
def test_the_page_warns_that_comparing_pages_narrows_what_it_keeps_back(client, heidi, lang, words):
    login(client, heidi)
    response = client.get(reverse("web:stats"), {"lang": lang})
    assert response.status_code == 200
    assert words in response.content.decode().replace("&#x27;", "'")


def test_the_page_says_clearly_what_is_wrong_with_a_range(client, heidi):
    login(client, heidi)
    response = client.get(
        reverse("web:stats"), {"start": "1000-01", "end": "9999-12", "grain": "year"}
    )
    assert response.status_code == 400
    assert "Statistics start in 2000" in response.content.decode()


def test_a_press_officer_without_the_key_is_told_to_ask_for_it(client, heidi):
    from haven.vault.models import KeyShare

    KeyShare.objects.filter(user=heidi).delete()
    login(client, heidi)
    response = client.get(reverse("web:stats"))
    assert response.status_code == 200
    assert "statistics key" in response.content.decode()


def test_supervisors_alone_see_where_cases_stand_now(client, ctx, alice, heidi):
    seed_story(ctx=ctx, actor=alice, last=3, this=1)
    login(client, heidi)
    assert client.get(reverse("web:stats_now")).status_code == 403
    login(client, alice)
    response = client.get(reverse("web:stats_now"))
    assert response.status_code == 200
    assert "never published" in response.content.decode()


def test_preparing_through_the_page_and_approving(client, ctx, alice, heidi, ivan):
    seed_story(ctx=ctx, actor=alice, last=12, this=3)
    last, _this = story_years()
    login(client, heidi)
    response = client.post(
        reverse("web:stats_releases"),
        {
            "start": f"{last}-01",
            "end": f"{last}-12",
            "grain": "year",
            "policy": "suppress",
            "tables": ["requests:period:channel"],
            "more": "people:sex",
        },
    )
    release = Release.objects.get()
    assert response.status_code == 302
    assert release.tables == ["requests:period:channel", "people:sex"]
    login(client, ivan)
    client.post(reverse("web:stats_release_approve", args=[release.pk]), {"version": 1})
    release.refresh_from_db()
    assert release.status == "published"


def test_a_bad_release_form_is_refused_with_the_reason(client, heidi):
    login(client, heidi)
    response = client.post(
        reverse("web:stats_releases"),
        {
            "start": "2020-01",
            "end": "2020-12",
            "grain": "year",
            "policy": "suppress",
            "tables": [],
            "more": "people:shoe_size",
            "k": "1",
        },
    )
    assert response.status_code == 400
    assert not Release.objects.exists()


def test_csv_export_shows_nothing_kept_back_and_quotes_formulas(client, heidi, published):
    login(client, heidi)
    response = client.get(
        reverse("web:stats_release_export", args=[published.pk]), {"format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    kept = [row for row in rows if row["status"] == "suppressed"]
    assert kept and all(row["value"] == "" for row in kept)
    assert all(
        row["value"] == "" or int(row["value"]) == 0 or int(row["value"]) >= 10 for row in rows
    )


def test_hxl_export_is_valid_hxl(client, heidi, published):
    login(client, heidi)
    response = client.get(
        reverse("web:stats_release_export", args=[published.pk]), {"format": "hxl"}
    )
    source = hxl.data(io.BytesIO(response.content))
    tags = [column.display_tag for column in source.columns]
    assert "#date+reported" in tags and "#affected" in tags and "#meta+status" in tags
    schema = hxl.schema(
        [
            ["#valid_tag", "#valid_datatype", "#valid_required", "#valid_value+list"],
            ["#affected", "number", "", ""],
            ["#date+reported", "", "true", ""],
            ["#meta+status", "", "true", "published|suppressed|rounded"],
        ]
    )
    assert schema.validate(source)
    values = [row.get("#affected") for row in hxl.data(io.BytesIO(response.content))]
    assert values and any(v in (None, "") for v in values)


def test_xlsx_export_opens_and_marks_what_is_kept_back(client, heidi, published):
    login(client, heidi)
    response = client.get(
        reverse("web:stats_release_export", args=[published.pk]), {"format": "xlsx", "lang": "ko"}
    )
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 4
    about = book[book.sheetnames[0]]
    assert about["B2"].value.startswith("'=")  # the title is not a formula
    values = [
        cell.value for sheet in book.worksheets[1:] for row in sheet.iter_rows() for cell in row
    ]
    assert "x" in values


def test_svg_export_is_an_image_without_script(client, heidi, published):
    login(client, heidi)
    response = client.get(
        reverse("web:stats_release_export", args=[published.pk]), {"format": "svg"}
    )
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<script" not in response.content and response.content.startswith(b"<svg")


def test_the_api_gives_figures_with_kept_back_ones_as_null(ctx, alice, heidi):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    api = APIClient()
    login(api, heidi)
    response = api.get("/api/stats/", {"start": f"{last}-01", "end": f"{this}-06", "grain": "year"})
    assert response.status_code == 200
    figures = [f for t in response.json()["tables"] for f in t["figures"]]
    kept = [f for f in figures if f["value"] is None]
    assert kept and all(f["interval"] for f in kept if f["status"] == "primary")
    bad = api.get(
        "/api/stats/", {"start": f"{last}-01", "end": f"{this}-06", "occupation": "astronaut"}
    )
    assert bad.status_code == 400 and "occupation" in bad.json()["errors"]


def test_the_api_prepares_and_refuses_k_below_two(ctx, alice, heidi):
    seed_story(ctx=ctx, actor=alice, last=12, this=3)
    last, _this = story_years()
    api = APIClient()
    login(api, heidi)
    body = {
        "start": f"{last}-01",
        "end": f"{last}-12",
        "grain": "year",
        "tables": ["requests:period:channel"],
    }
    assert api.post("/api/stats/releases/", {**body, "k": 1}, format="json").status_code == 400
    response = api.post("/api/stats/releases/", body, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "prepared"

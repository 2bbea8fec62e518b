"""The import pages: upload (memory only), report, remap, load step by step, bad rows, undo."""

from __future__ import annotations

import os
import re
import tempfile
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from haven.cases.models import Person
from haven.imports import services
from haven.imports.models import ImportBatch, ImportStatus
from haven.imports.reading import read_table
from tests.factories import login
from tests.imports import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(alice) -> Client:
    client = Client()
    login(client, alice)
    return client


def _upload(client: Client, data: bytes, name: str = "people.csv", **fields: str):
    return client.post(
        "/imports/",
        {
            "file": SimpleUploadedFile(name, data),
            "date_order": "dmy",
            "default_channel": "staff",
            "default_urgency": "2",
            **fields,
        },
    )


def test_upload_checks_the_file_and_shows_the_report(client, alice) -> None:
    response = _upload(client, samples.csv_bytes())
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{batch.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "김선희" in text  # the first rows as read
    assert 'id="rows-valid">4' in text
    assert Person.objects.count() == 0


def test_a_large_upload_leaves_no_temporary_file(client, tmp_path, monkeypatch, settings) -> None:
    rows = [[f"사람{i}", "말" * 10_000] for i in range(100)]
    data = samples.csv_bytes(["이름", "본인 진술"], rows)
    assert len(data) > 2_500_000  # past Django's in-memory threshold for uploads
    # A temporary directory of this test's own (others may write to the shared one meanwhile).
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    settings.FILE_UPLOAD_TEMP_DIR = str(private)
    from django.core.files import uploadedfile

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    # Django deletes its temporary upload file when the request ends: make one impossible.
    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", refuse)
    response = _upload(client, data)
    assert response.status_code == 302
    assert os.listdir(private) == []


@override_settings(HAVEN_IMPORT_MAX_BYTES=100_000)
def test_an_upload_over_the_limit_is_refused_and_stores_nothing(client) -> None:
    response = _upload(client, b"a,b\r\n" + b"x,y\r\n" * 40_000)
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (samples.xml_bomb, "document type declaration"),
        (lambda: samples.xlsx_bytes(merge="A2:A3"), "merged cells"),
        (lambda: "이름\r\n김".encode() + "박".encode("cp949") + b"\r\n", "CSV UTF-8"),
    ],
)
def test_hostile_uploads_get_a_clear_error(client, data, message) -> None:
    response = _upload(client, data(), name="x.xlsx")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_load_runs_in_steps_that_refresh_themselves(client, alice, monkeypatch) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    monkeypatch.setattr("haven.web.views.imports.STEP_SECONDS", 0)
    _upload(client, samples.csv_bytes(["이름"], [[f"p{i}"] for i in range(5)]))
    batch = ImportBatch.objects.get()
    response = client.post(f"/imports/{batch.pk}/commit/", {"version": batch.version})
    steps = 0
    while urlsplit(response["Location"]).path.endswith("/progress/"):
        page = client.get(response["Location"])
        if page.status_code == 200:
            assert "Refresh" in page  # the page goes on by itself
            match = re.search(
                r'http-equiv="refresh" content="1; url=([^"]+)"', page.content.decode()
            )
            assert match
            response = client.get(match.group(1).replace("&amp;", "&"))
        else:
            response = page
        steps += 1
        assert steps < 10
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMMITTED and Person.objects.count() == 5
    assert steps >= 2


def test_a_step_link_of_another_person_does_nothing(client, alice, dave, monkeypatch) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 1)
    monkeypatch.setattr("haven.web.views.imports.STEP_SECONDS", 0)
    _upload(client, samples.csv_bytes(["이름"], [["a"], ["b"], ["c"]]))
    batch = ImportBatch.objects.get()
    response = client.post(f"/imports/{batch.pk}/commit/", {"version": batch.version})
    assert Person.objects.count() == 1
    forged = f"/imports/{batch.pk}/progress/?go=forged"
    assert client.get(forged).status_code == 200
    assert Person.objects.count() == 1
    assert "/progress/?go=" in response["Location"]


def test_bad_rows_download_neutralises_formulas(client) -> None:
    data = samples.csv_bytes(["이름", "생년월일"], [['=HYPERLINK("x")', "1990"], ["-박", "어제"]])
    _upload(client, data)
    batch = ImportBatch.objects.get()
    response = client.get(f"/imports/{batch.pk}/bad-rows.csv")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    table = read_table(response.content)
    cells = [row for _n, row in table.rows]
    assert cells[0][1] == ""  # the formula was never kept
    assert cells[1][1] == "'-박"
    xlsx = client.get(f"/imports/{batch.pk}/bad-rows.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(f"/imports/{batch.pk}/bad-rows.pdf").status_code == 404


def test_remap_and_undo_through_the_pages(client, alice) -> None:
    _upload(client, samples.csv_bytes(["Who", "Notes"], [["Kim"], ["Pak"]]))
    batch = ImportBatch.objects.get()
    response = client.post(
        f"/imports/{batch.pk}/remap/",
        {
            "version": batch.version,
            "col_0": "aliases",
            "col_1": "summary",
            "date_order": "dmy",
            "default_channel": "staff",
            "default_urgency": "2",
            "save_as": "Who list",
        },
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.rows_valid == 2 and batch.version == 2
    client.post(f"/imports/{batch.pk}/commit/", {"version": batch.version})
    assert Person.objects.count() == 2
    assert client.get(f"/imports/{batch.pk}/undo/").status_code == 200
    client.post(f"/imports/{batch.pk}/undo/", {})
    assert Person.objects.count() == 0
    assert "Who list" in client.get("/imports/").content.decode()


def test_other_roles_cannot_import(bob) -> None:
    client = Client()
    login(client, bob)
    assert client.get("/imports/").status_code == 403

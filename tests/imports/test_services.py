"""Importing people: the dry run, the load (all at once, by chunks, resumed), undo, discard."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.cases.journey import State
from haven.cases.models import Case, JourneyEvent, Person, Request, RequestStatus
from haven.cases.services import note_add
from haven.imports import services
from haven.imports.columns import Options
from haven.imports.models import ChunkKind, ImportBatch, ImportChunk, ImportLedger, ImportStatus
from haven.imports.selectors import import_bad_rows, import_report
from haven.vault.models import DataKey
from haven.vault.sealed import payload_read
from tests.factories import ctx_for, make_request
from tests.imports import samples

pytestmark = pytest.mark.django_db


def _stage(ctx: Any, actor: Any, data: bytes | None = None, **kwargs: Any) -> services.Staged:
    return services.import_stage(
        ctx=ctx, actor=actor, data=data or samples.csv_bytes(), name="명단.csv", **kwargs
    )


def _people(ctx: Any) -> dict[str, dict[str, Any]]:
    return {
        payload_read(ctx=ctx, record=p)["name_hangul"]: payload_read(ctx=ctx, record=p)
        for p in Person.objects.all()
    }


def test_a_dry_run_checks_every_row_and_loads_nothing(ctx, alice) -> None:
    staged = _stage(ctx, alice)
    batch = staged.batch
    assert (batch.rows_total, batch.rows_valid, batch.rows_invalid) == (4, 4, 0)
    assert batch.status == ImportStatus.STAGED
    assert Person.objects.count() == 0 and Request.objects.count() == 0
    report = import_report(ctx=ctx, user=alice, batch=batch)
    assert report.mapping["이름"] == "name_hangul" and report.mapping["음력"] == "birth_lunar"
    assert report.name == "명단.csv" and report.encoding == "utf-8"
    assert AuditEntry.objects.filter(action="import.stage").count() == 1


def test_the_load_encrypts_every_person_as_any_other_record(ctx, alice) -> None:
    batch = _stage(ctx, alice).batch
    done = services.import_commit(ctx=ctx, actor=alice, batch=batch)
    assert done.finished and done.batch.people_committed == 4
    people = _people(ctx)
    assert set(people) == {"김선희", "박영철", "리순옥", "최광호"}
    assert people["김선희"]["birth"] == {
        "value": "1990-03-05",
        "precision": "day",
        "calendar": "solar",
    }
    assert people["박영철"]["birth"]["value"] == "1985-03-05"
    assert people["리순옥"]["birth"] == {
        "value": "1992-03-05",
        "precision": "day",
        "calendar": "lunar",
    }
    assert people["최광호"]["birth"] == {"value": "1970", "precision": "year", "calendar": "solar"}
    assert people["김선희"]["occupation"] == "restaurant_worker"
    assert people["김선희"]["sex"] == "female"
    # Ciphertext only: no name in any payload column.
    for person in Person.objects.all():
        assert "김선희".encode() not in bytes(person.payload)
    # Each person has their own case and key, sealed to the intake and supervisors' keys.
    assert Case.objects.count() == 4 and len({c.data_key_id for c in Case.objects.all()}) == 4
    # A colleague in intake opens them, as any case recorded by a supervisor.
    cases = {c.person_id: c for c in Case.objects.all()}
    kim = next(
        p for p in Person.objects.all() if _people(ctx)["김선희"] == payload_read(ctx=ctx, record=p)
    )
    assert cases[kim.pk].country == "CN"


def test_imported_states_are_recorded_as_one_step_and_the_request_is_triaged(ctx, alice) -> None:
    batch = _stage(ctx, alice).batch
    services.import_commit(ctx=ctx, actor=alice, batch=batch)
    arrived = Case.objects.get(state=State.ARRIVED)
    assert arrived.version == 2 and arrived.country == "KR"
    steps = list(JourneyEvent.objects.filter(case=arrived).order_by("case_version"))
    assert [(e.from_state, e.to_state) for e in steps] == [
        ("", "received"),
        ("received", "arrived"),
    ]
    assert payload_read(ctx=ctx, record=steps[1])["note"].startswith("Imported")
    assert arrived.request.status == RequestStatus.TRIAGED
    assert {c.request.status for c in Case.objects.filter(state=State.RECEIVED)} == {
        RequestStatus.NEW
    }
    assert Case.objects.filter(state=State.IN_THIRD_COUNTRY).count() == 1


def test_rows_sharing_a_reference_are_one_request_with_a_group(ctx, alice) -> None:
    headers = ["이름", "요청번호", "그룹"]
    rows = [["김일", "R-1", "닝보 식당"], ["김이", "R-1", ""], ["김삼", "R-2", ""]]
    batch = _stage(ctx, alice, samples.csv_bytes(headers, rows)).batch
    assert batch.requests_valid == 2
    services.import_commit(ctx=ctx, actor=alice, batch=batch)
    assert Request.objects.count() == 2
    grouped = Request.objects.get(people_count=2)
    assert grouped.cases.count() == 2 and grouped.cases.first().group is not None
    assert payload_read(ctx=ctx, record=grouped.cases.first().group)["label"] == "닝보 식당"


def test_bad_rows_are_reported_with_row_column_and_reason_and_never_loaded(ctx, alice) -> None:
    headers = ["이름", "성별", "생년월일", "국가", "요청번호"]
    rows = [
        ["김선희", "여", "1990-03-05", "CN", ""],
        ["", "여", "1990", "CN", ""],  # no name
        ["박", "?!", "12/25/1990", "Atlantis", ""],
        ["이", "남", "1990", "CN", "G"],
        ["최", "남", "2190", "CN", "G"],  # future birth: its group mate stays out too
    ]
    staged = _stage(ctx, alice, samples.csv_bytes(headers, rows))
    batch = staged.batch
    assert (batch.rows_valid, batch.rows_invalid) == (1, 4)
    errors = {(e.row, e.column) for e in staged.checked.errors}
    assert (3, "이름") in errors
    assert {(4, "성별"), (4, "생년월일"), (4, "국가")} <= errors
    assert (6, "생년월일") in errors and (5, "요청번호") in errors
    bad = import_bad_rows(ctx=ctx, user=alice, batch=batch)
    assert [row[0] for row in bad.rows] == [3, 4, 5, 6]
    assert bad.headers[-1] == "오류 / errors" or "error" in bad.headers[-1].lower()
    services.import_commit(ctx=ctx, actor=alice, batch=batch)
    assert set(_people(ctx)) == {"김선희"}


def test_formulas_are_reported_and_nothing_of_them_is_stored(ctx, alice) -> None:
    data = samples.xlsx_bytes(
        ["이름", "연락처"], [["김", '=HYPERLINK("http://evil.example","x")'], ["박", ""]]
    )
    staged = _stage(ctx, alice, data)
    assert staged.batch.rows_invalid == 1
    assert "formula" in staged.checked.errors[0].reason
    for chunk in ImportChunk.objects.all():
        assert b"HYPERLINK" not in bytes(payload_read(ctx=ctx, record=chunk).__repr__().encode())


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (samples.xml_bomb, "file"),
        (lambda: samples.xlsx_bytes(merge="A2:B2"), "file"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "file"),
    ],
)
def test_a_hostile_or_unreadable_file_stores_nothing(ctx, alice, data, field) -> None:
    keys = DataKey.objects.count()
    with pytest.raises(ValidationError) as exc:
        _stage(ctx, alice, data())
    assert field in exc.value.message_dict
    assert ImportBatch.objects.count() == 0 and ImportChunk.objects.count() == 0
    assert DataKey.objects.count() == keys


def test_only_supervisors_import(ctx, bob, alice) -> None:
    with pytest.raises(PermissionDenied):
        _stage(ctx_for(bob), bob)


def test_duplicates_are_previewed_against_stored_people_and_within_the_file(ctx, alice) -> None:
    from haven.cases.services import PersonInput, request_create

    request_create(
        ctx=ctx,
        actor=alice,
        channel="staff",
        account="Earlier.",
        people=[
            PersonInput(
                name_hangul="김선희",
                name_romanized="Kim Sun-hui",
                sex="female",
                birth_value="1990-03-05",
                birth_precision="day",
                origin_region="신의주",
            )
        ],
    )
    headers = ["이름", "성별", "생년월일", "출신지"]
    rows = [
        ["김선희", "여", "1990-03-05", "신의주"],
        ["박영철", "남", "1985-01-02", "청진"],
        ["박영철", "남", "1985-01-02", "청진"],
    ]
    staged = _stage(ctx, alice, samples.csv_bytes(headers, rows))
    pairs = {(p["row"], p["other_row"], bool(p["case"])) for p in staged.duplicates}
    assert (2, None, True) in pairs
    assert (4, 3, False) in pairs
    assert staged.batch.duplicates_flagged == 2
    report = import_report(ctx=ctx, user=alice, batch=staged.batch)
    assert any(d.other_name == "김선희" for d in report.duplicates)
    # Leaving the flagged rows out loads only the first 박영철.
    services.import_commit(ctx=ctx, actor=alice, batch=staged.batch, skip_rows=[2, 4])
    assert Person.objects.count() == 2


def test_a_load_in_chunks_can_stop_and_resume(ctx, alice, monkeypatch) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [[f"사람{i}"] for i in range(7)]
    batch = _stage(ctx, alice, samples.csv_bytes(["이름"], rows)).batch
    assert batch.chunks_total == 4
    step = services.import_commit(ctx=ctx, actor=alice, batch=batch, seconds=0)
    assert step.chunks_done == 1 and not step.finished
    assert step.batch.status == ImportStatus.COMMITTING and Person.objects.count() == 2
    done = services.import_commit(ctx=ctx, actor=alice, batch=batch)
    assert done.finished and Person.objects.count() == 7
    assert ImportLedger.objects.filter(batch=batch).count() == 7
    # What was staged is destroyed with its key; the batch keeps counts only.
    done.batch.refresh_from_db()
    assert done.batch.stage_key_id is None
    assert not ImportChunk.objects.filter(batch=batch).exclude(kind=ChunkKind.BAD).exists()
    with pytest.raises(ValidationError):
        services.import_commit(ctx=ctx, actor=alice, batch=batch)


def test_undo_destroys_what_was_loaded_but_keeps_what_someone_worked_on(ctx, alice) -> None:
    before = make_request(ctx=ctx, actor=alice)
    batch = _stage(ctx, alice).batch
    services.import_commit(ctx=ctx, actor=alice, batch=batch)
    worked = Case.objects.exclude(request=before).order_by("opened_at").first()
    note_add(ctx=ctx, actor=alice, case=worked, text="Called her.")
    result = services.import_undo(actor=alice, batch=batch)
    assert (result.destroyed, result.kept) == (3, 1)
    assert set(Case.objects.values_list("pk", flat=True)) == {
        *before.cases.values_list("pk", flat=True),
        worked.pk,
    }
    batch.refresh_from_db()
    assert batch.status == ImportStatus.UNDONE and batch.requests_kept == 1
    # Undoing again with force takes what was kept too.
    again = services.import_undo(actor=alice, batch=batch, force=True)
    assert (again.destroyed, again.kept) == (1, 0)
    assert set(Case.objects.values_list("pk", flat=True)) == set(
        before.cases.values_list("pk", flat=True)
    )


def test_discarding_destroys_the_staged_rows_and_their_keys(ctx, alice) -> None:
    batch = _stage(ctx, alice).batch
    keys = {batch.stage_key_id, batch.bad_rows_key_id}
    services.import_discard(actor=alice, batch=batch)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DISCARDED
    assert not ImportChunk.objects.filter(batch=batch).exists()
    assert not DataKey.objects.filter(pk__in=keys).exists()


def test_remapping_checks_the_kept_cells_again(ctx, alice) -> None:
    data = samples.csv_bytes(["Full name", "Remarks"], [["Kim Sun-hui", "x"], ["Pak", "y"]])
    staged = _stage(ctx, alice, data)
    assert staged.batch.rows_valid == 2
    again = services.import_remap(
        ctx=ctx,
        actor=alice,
        batch=staged.batch,
        expected_version=staged.batch.version,
        mapping={"Full name": "aliases", "Remarks": "own_words"},
        options=Options(),
    )
    assert again.batch.rows_valid == 2
    services.import_commit(ctx=ctx, actor=alice, batch=again.batch)
    person = payload_read(ctx=ctx, record=Person.objects.first())
    assert person["aliases"] in (["Kim Sun-hui"], ["Pak"])


def test_a_saved_mapping_is_sealed_and_reused(ctx, alice) -> None:
    saved = services.import_mapping_save(
        ctx=ctx,
        actor=alice,
        name="2019 list",
        mapping={"Full name": "name_romanized"},
        options=Options(date_order="mdy", default_country="TH"),
    )
    assert b"2019" not in bytes(saved.payload)
    data = samples.csv_bytes(["Full name", "Born"], [["Kim", "12/25/1990"]])
    staged = _stage(ctx, alice, data, saved_mapping=saved)
    assert staged.batch.rows_valid == 1
    services.import_commit(ctx=ctx, actor=alice, batch=staged.batch)
    case = Case.objects.get()
    assert case.country == "TH"
    assert payload_read(ctx=ctx, record=case.person)["birth"]["value"] == "1990-12-25"


def test_all_or_nothing_leaves_nothing_when_a_chunk_fails(ctx, alice, monkeypatch) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    batch = _stage(ctx, alice, samples.csv_bytes(["이름"], [[f"p{i}"] for i in range(5)])).batch
    calls = {"n": 0}
    real = services._commit_chunk

    def failing(**kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(services, "_commit_chunk", failing)
    with pytest.raises(RuntimeError):
        services.import_commit(ctx=ctx, actor=alice, batch=batch, atomic=True)
    assert Person.objects.count() == 0 and ImportLedger.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == ImportStatus.STAGED


def test_a_sheet_without_a_name_column_is_staged_with_every_row_refused(ctx, alice) -> None:
    staged = _stage(ctx, alice, samples.csv_bytes(["주소", "메모"], [["x", "y"]]))
    assert (staged.batch.rows_valid, staged.batch.rows_invalid) == (0, 1)
    assert "name" in staged.checked.errors[0].reason
    with pytest.raises(ValidationError) as exc:
        services.import_remap(
            ctx=ctx,
            actor=alice,
            batch=staged.batch,
            expected_version=staged.batch.version,
            mapping={"주소": "name_hangul", "메모": "name_hangul"},
            options=Options(),
        )
    assert "both mapped" in str(exc.value)


def test_purge_destroys_what_old_imports_keep(ctx, alice) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    staged = _stage(ctx, alice).batch
    loaded = _stage(ctx, alice).batch
    services.import_commit(ctx=ctx, actor=alice, batch=loaded)
    loaded.refresh_from_db()
    assert loaded.bad_rows_key_id is not None  # kept (empty) until it expires
    ImportBatch.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    call_command("purge", stdout=__import__("io").StringIO())
    staged.refresh_from_db()
    loaded.refresh_from_db()
    assert staged.status == ImportStatus.DISCARDED and staged.stage_key_id is None
    assert loaded.status == ImportStatus.COMMITTED and loaded.bad_rows_key_id is None
    assert not ImportChunk.objects.exists()
    assert Person.objects.count() == 4  # what was loaded stays


def test_imported_cases_are_counted_on_the_dashboard(ctx, alice) -> None:
    from haven.cases.tallies import visible_total

    before = visible_total(user=alice)
    services.import_commit(ctx=ctx, actor=alice, batch=_stage(ctx, alice).batch)
    assert visible_total(user=alice) == before + 4


def test_imported_cases_are_counted_in_the_statistics_in_the_state_the_sheet_gives(
    ctx, alice, heidi
) -> None:
    from haven.stats.models import CaseFacts

    batch = _stage(ctx, alice).batch
    services.import_commit(ctx=ctx, actor=alice, batch=batch)
    press = ctx_for(heidi)

    def facts(case: Case) -> dict[str, Any]:
        row = CaseFacts.objects.get(case=case)
        return press.facts_open(f"t:{row.team_key_id}", bytes(row.sealed))

    arrived = Case.objects.get(state=State.ARRIVED)
    arrival = JourneyEvent.objects.get(case=arrived, to_state=State.ARRIVED).occurred_at
    assert facts(arrived)["out"] == "arrived"
    assert facts(arrived)["om"] == timezone.localtime(arrival).strftime("%Y-%m")
    assert facts(Case.objects.get(state=State.IN_THIRD_COUNTRY))["out"] == ""
    assert {facts(c)["out"] for c in Case.objects.filter(state=State.RECEIVED)} == {""}

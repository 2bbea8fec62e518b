"""Portal requests taken in a surge: queued as one sealed row, opened by the intake's pages."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.cases.journey import State
from haven.cases.models import Case, Person, Request
from haven.crypto import queued_seal
from haven.portal import queue
from haven.portal.models import QueuedRequest, Receipt, UsedFormToken
from haven.portal.queue import portal_queue_open
from haven.portal.receipts import receipt_normalise
from haven.portal.selectors import queued_request_count
from haven.vault.holders import system_key
from haven.vault.models import TeamKeyKind
from haven.vault.sealed import payload_read
from tests.factories import ctx_for, login
from tests.portal.helpers import check_status, receipt_of, submit

pytestmark = pytest.mark.staff_pages


@pytest.fixture
def queue_on(settings, monkeypatch):
    """The queue on, on a quiet machine (staff pages open queued requests after their answer)."""
    settings.HAVEN_PORTAL_QUEUE = "on"
    monkeypatch.setattr("haven.web.views.requests.machine_quiet", lambda: True)
    queue.recent.reset()
    yield
    queue.recent.reset()


def _stored() -> tuple[int, int, int]:
    return Request.objects.count(), Case.objects.count(), QueuedRequest.objects.count()


def _store_fails_once(monkeypatch, error: Exception) -> None:
    """The first queued row opened fails to be written with ``error``; the rest are written."""
    real_store = queue._store
    calls = []

    def failing_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real_store(**kwargs)

    monkeypatch.setattr(queue, "_store", failing_once)


def test_a_queued_request_stores_one_sealed_row_and_shows_its_receipt(
    client, dave, queue_on
) -> None:
    response = submit(client, ["김선희", "Ri Yong-ho"], account="We hide in Shenyang, room 4.")
    assert response.status_code == 200
    receipt = receipt_of(response)
    assert _stored() == (0, 0, 1)
    row = QueuedRequest.objects.get()
    sealed = bytes(row.sealed)
    for plain in ("김선희", "Ri Yong-ho", "Shenyang", receipt_normalise(receipt)):
        assert plain.encode() not in sealed
    assert row.team_key == system_key(TeamKeyKind.INTAKE)
    assert UsedFormToken.objects.count() == 1
    assert AuditEntry.objects.filter(action="portal.queued").count() == 1


def test_the_intake_inbox_opens_queued_requests_into_what_the_portal_writes(
    client, dave, queue_on
) -> None:
    sent_at = timezone.now()
    receipt = receipt_of(submit(client, ["김선희", "Ri Yong-ho"], account="We hide."))
    login(client, dave)
    page = client.get(reverse("web:requests"))
    assert page.status_code == 200
    request = Request.objects.get()
    assert QueuedRequest.objects.count() == 0
    assert abs(request.received_at - sent_at) < dt.timedelta(seconds=5)
    assert request.created_by is None and request.people_count == 2
    assert Case.objects.filter(request=request, state=State.RECEIVED).count() == 2
    assert payload_read(ctx=ctx_for(dave), record=request)["account"] == "We hide."
    assert f'id="request-{request.pk}"' in page.content.decode()
    entry = AuditEntry.objects.get(action="portal.request")
    assert entry.actor_id is None and entry.detail.get("queued") is True
    # The requester's receipt now finds it, with the replies' key from the same receipt.
    client.logout()
    found = check_status(client, receipt)
    assert found.status_code == 200
    assert Receipt.objects.get().request == request


def test_before_it_is_opened_the_status_page_says_to_come_back_later(
    client, dave, queue_on
) -> None:
    receipt = receipt_of(submit(client, ["Kim Son-hui"], lang="en"))
    page = check_status(client, receipt)
    assert page.status_code == 400
    assert "may not be open yet" in page.content.decode()
    assert _stored() == (0, 0, 1)


def test_the_come_back_later_sentence_depends_on_the_setting_never_on_the_queue(
    client, dave, settings
) -> None:
    # Whether the queue holds anything would tell anyone typing a wrong number when requests
    # arrive and when staff work: the sentence is there whenever queuing can happen.
    settings.HAVEN_PORTAL_QUEUE = "surge"
    assert QueuedRequest.objects.count() == 0
    page = check_status(client, "1234-5678-9012-3456-7890")
    assert page.status_code == 400 and "may not be open yet" in page.content.decode()
    settings.HAVEN_PORTAL_QUEUE = "off"
    page = check_status(client, "1234-5678-9012-3456-7891")
    assert page.status_code == 400 and "may not be open yet" not in page.content.decode()


def test_a_caseworker_opens_nothing_and_is_told_nothing(client, bob, dave, queue_on) -> None:
    submit(client, ["Kim Son-hui"])
    login(client, bob)
    page = client.get(reverse("web:dashboard"))
    assert page.status_code == 200
    assert 'id="queued-requests"' not in page.content.decode()
    assert _stored() == (0, 0, 1)


def test_the_inbox_opens_a_few_and_leaves_the_rest_for_after_its_answer(
    client, dave, queue_on
) -> None:
    for i in range(queue.OPEN_BEFORE_ANSWER + 2):
        submit(client, [f"Person {i}"])
    login(client, dave)
    page = client.get(reverse("web:requests"))
    html = page.content.decode()
    # Opened before the page was drawn: OPEN_BEFORE_ANSWER. The rest once the answer was sent
    # (the test client closes the response, as the WSGI server does, before it returns).
    assert 'id="queued-requests"' in html and "2 requests from the portal" in html
    assert html.count('id="request-') == queue.OPEN_BEFORE_ANSWER
    assert _stored()[0] == queue.OPEN_BEFORE_ANSWER + 2 and _stored()[2] == 0


def test_in_a_surge_the_inbox_answers_before_opening_any(
    client, dave, queue_on, monkeypatch
) -> None:
    monkeypatch.setattr(queue, "OPEN_BEFORE_ANSWER_WHILE", 2)
    monkeypatch.setattr(queue, "machine_quiet", lambda: False)  # nothing after the answer
    from haven.web.views import requests as request_views

    monkeypatch.setattr(request_views, "machine_quiet", lambda: False)
    for i in range(3):
        submit(client, [f"Person {i}"])
    login(client, dave)

    html = client.get(reverse("web:requests")).content.decode()

    assert "3 requests from the portal" in html and html.count('id="request-') == 0
    assert _stored() == (0, 0, 3)
    listed = client.get("/api/requests/")
    assert listed.status_code == 200 and _stored() == (0, 0, 3)
    submitted_since = QueuedRequest.objects.order_by("received_at").first()
    submitted_since.delete()  # two wait: the end of the surge, the oldest opens again
    client.get(reverse("web:requests"))
    assert _stored() == (1, 1, 1)


def test_the_dashboard_opens_them_only_after_its_answer(client, dave, queue_on) -> None:
    for i in range(2):
        submit(client, [f"Person {i}"])
    login(client, dave)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert "2 requests from the portal" in html
    assert _stored() == (2, 2, 0)


def test_a_form_sent_twice_is_queued_once(client, dave, queue_on) -> None:
    from tests.portal.helpers import request_form

    data = request_form(client, lang="en")
    data.update({"name_0": "Kim", "country": "CN", "region": "", "urgency": "3", "account": "a"})
    data["contact"] = ""
    first = client.post(reverse("portal:ask-en"), data)
    again = client.post(reverse("portal:ask-en"), data)
    assert first.status_code == 200 and again.status_code == 200
    assert "already received" in again.content.decode()
    assert _stored() == (0, 0, 1)


def test_bad_input_is_refused_and_nothing_is_queued(client, dave, queue_on) -> None:
    response = submit(client, ["Kim\x00Son"], account="x" * 6_000)
    assert response.status_code == 400
    assert _stored() == (0, 0, 0) and UsedFormToken.objects.count() == 0


def test_a_request_with_files_is_never_queued(client, dave, queue_on) -> None:
    assert queue.portal_queue_wanted(has_files=True) is False
    assert queue.portal_queue_wanted(has_files=False) is True


def test_surge_queues_only_past_the_rate(settings, queue_on) -> None:
    settings.HAVEN_PORTAL_QUEUE = "surge"
    settings.HAVEN_PORTAL_QUEUE_SURGE_PER_SECOND = 3
    queue.recent.reset()
    taken = [queue.portal_queue_wanted(has_files=False) for _ in range(5)]
    assert taken == [False, False, False, True, True]
    settings.HAVEN_PORTAL_QUEUE = "off"
    assert queue.portal_queue_wanted(has_files=False) is False


def test_the_surge_window_forgets_after_a_second() -> None:
    now = [100.0]
    recent = queue._RecentRequests(clock=lambda: now[0])
    assert [recent.count_one() for _ in range(3)] == [1, 2, 3]
    now[0] += 1.0
    assert recent.count_one() == 1


def test_a_row_the_portal_did_not_make_is_deleted_with_an_audit_entry(dave, queue_on) -> None:
    intake = system_key(TeamKeyKind.INTAKE)
    now = timezone.now()
    forged = QueuedRequest.objects.create(
        id="00000000-0000-4000-8000-000000000001",
        received_at=now,
        team_key=intake,
        sealed=b"not a sealed box at all" * 3,
    )
    moved = QueuedRequest.objects.create(
        id="00000000-0000-4000-8000-000000000002",
        received_at=now,
        team_key=intake,
        # Sealed properly, but naming another row: copied from elsewhere.
        sealed=queued_seal(bytes(intake.public_key), {"id": str(forged.pk), "receipt": "1" * 20}),
    )
    assert portal_queue_open(ctx=ctx_for(dave), actor=dave, limit=10) == 0
    assert not QueuedRequest.objects.filter(pk__in=[forged.pk, moved.pk]).exists()
    assert AuditEntry.objects.filter(action="portal.queued_refused").count() == 2
    assert Request.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_pages_opening_the_same_queue_at_once_write_each_request_once(
    client, dave, alice, queue_on
) -> None:
    for i in range(6):
        submit(client, [f"Person {i}"])
    errors: list[BaseException] = []
    opened: list[int] = []
    barrier = threading.Barrier(2)

    def page(user) -> None:
        try:
            ctx = ctx_for(user)
            barrier.wait()
            opened.append(portal_queue_open(ctx=ctx, actor=user, limit=10))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=page, args=(u,)) for u in (dave, alice)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(opened) == 6
    assert Request.objects.count() == 6 and Person.objects.count() == 6
    assert QueuedRequest.objects.count() == 0
    assert AuditEntry.objects.filter(action="portal.request").count() == 6


def test_opening_stops_starting_new_ones_when_its_time_is_up(client, dave, queue_on) -> None:
    for i in range(4):
        submit(client, [f"Person {i}"])
    ticks = iter([0.0, 0.1, 0.2, 0.6, 0.7, 0.8])  # started, then before each row
    opened = portal_queue_open(
        ctx=ctx_for(dave), actor=dave, limit=10, seconds=0.5, clock=lambda: next(ticks)
    )
    assert opened == 2
    assert _stored() == (2, 2, 2)


def test_the_api_list_opens_a_few_queued_requests_for_the_intake(client, dave, queue_on) -> None:
    for i in range(queue.OPEN_BEFORE_ANSWER + 1):
        submit(client, [f"Person {i}"])
    login(client, dave)
    listed = client.get("/api/requests/")
    assert listed.status_code == 200
    assert _stored()[0] == queue.OPEN_BEFORE_ANSWER and _stored()[2] == 1


def test_nothing_is_sealed_to_an_intake_key_someone_swapped_in(dave, queue_on) -> None:
    from haven.crypto import CryptoError, PersonalKey
    from haven.portal.services import Submission

    intake = system_key(TeamKeyKind.INTAKE)
    type(intake).objects.filter(pk=intake.pk).update(public_key=PersonalKey.generate().public_key)
    submission = Submission(
        names=["Kim"], country="CN", region="", urgency=3, account="a", contact=""
    )
    with pytest.raises(CryptoError):
        queue.portal_request_queue(submission=submission, form_token="swapped")
    assert _stored() == (0, 0, 0) and UsedFormToken.objects.count() == 0


def test_on_a_busy_machine_pages_open_nothing_after_their_answer(
    client, dave, queue_on, monkeypatch
) -> None:
    monkeypatch.setattr("haven.web.views.requests.machine_quiet", lambda: False)
    for i in range(3):
        submit(client, [f"Person {i}"])
    login(client, dave)
    html = client.get(reverse("web:requests")).content.decode()
    assert "2 requests from the portal" in html
    assert _stored() == (1, 1, 2)  # the one opened before the answer
    client.get(reverse("web:dashboard"))
    assert _stored() == (1, 1, 2)


@pytest.mark.parametrize(
    ("load", "cores", "quiet"), [(0.2, 2, True), (1.0, 2, False), (3.0, 2, False), (1.5, 4, True)]
)
def test_the_machine_is_quiet_under_half_a_core_of_load_per_core(
    monkeypatch, load, cores, quiet
) -> None:
    monkeypatch.setattr(queue.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(queue.os, "cpu_count", lambda: cores)
    assert queue.machine_quiet() is quiet


def test_where_the_load_cannot_be_read_the_machine_counts_as_quiet(monkeypatch) -> None:
    def unreadable():
        raise OSError("no load average here")

    monkeypatch.setattr(queue.os, "getloadavg", unreadable)
    assert queue.machine_quiet() is True


def test_a_request_the_checks_now_refuse_is_set_aside_and_does_not_hold_up_the_others(
    client, dave, queue_on, monkeypatch
) -> None:
    submit(client, ["Stuck Person"])
    submit(client, ["Next Person"])
    real_clean = queue.submission_clean

    def stricter(submission):
        if submission.names == ["Stuck Person"]:
            from django.core.exceptions import ValidationError

            raise ValidationError({"names": ["a rule that changed since"]})
        return real_clean(submission)

    monkeypatch.setattr(queue, "submission_clean", stricter)
    ctx = ctx_for(dave)
    assert portal_queue_open(ctx=ctx, actor=dave, limit=1) == 0
    assert portal_queue_open(ctx=ctx, actor=dave, limit=1) == 1
    stuck = QueuedRequest.objects.get()  # kept for a supervisor, out of the line
    assert stuck.failed_at is not None
    assert Request.objects.count() == 1
    assert AuditEntry.objects.filter(action="portal.queued_set_aside").count() == 1
    assert queued_request_count() == 0


def test_a_genuine_row_whose_write_fails_is_set_aside_and_the_page_still_answers(
    client, dave, queue_on, monkeypatch
) -> None:
    from django.db import IntegrityError

    submit(client, ["First Person"])
    submit(client, ["Second Person"])
    _store_fails_once(monkeypatch, IntegrityError("a receipt digest that exists already"))
    login(client, dave)
    assert client.get(reverse("web:requests")).status_code == 200
    assert client.get(reverse("web:requests")).status_code == 200
    assert Request.objects.count() == 1
    assert QueuedRequest.objects.filter(failed_at__isnull=False).count() == 1


def test_a_copy_of_an_opened_row_put_back_is_refused(client, dave, queue_on) -> None:
    submit(client, ["Kim"])
    row = QueuedRequest.objects.get()
    copy = {f.attname: getattr(row, f.attname) for f in QueuedRequest._meta.concrete_fields}
    assert portal_queue_open(ctx=ctx_for(dave), actor=dave, limit=5) == 1
    QueuedRequest.objects.create(**copy)  # the same bytes, tag and all, written back
    assert portal_queue_open(ctx=ctx_for(dave), actor=dave, limit=5) == 0
    # The receipt exists already: the copy cannot be written, and is set aside, not retried.
    assert Request.objects.count() == 1
    assert QueuedRequest.objects.get().failed_at is not None


def test_rows_of_a_key_this_person_cannot_open_are_left_for_someone_else(
    client, dave, queue_on, monkeypatch
) -> None:
    from haven.crypto import CryptoError, KeyContext

    submit(client, ["Kim"])

    def unopenable(self, ref):
        raise CryptoError("this person's share of the key does not open")

    monkeypatch.setattr(KeyContext, "holder_public_key", unopenable)
    assert portal_queue_open(ctx=ctx_for(dave), actor=dave, limit=5) == 0
    assert _stored() == (0, 0, 1)
    assert not AuditEntry.objects.filter(action="portal.queued_refused").exists()


def test_a_passing_database_error_leaves_the_row_in_line_for_the_next_page(
    client, dave, queue_on, monkeypatch
) -> None:
    from django.db import OperationalError

    submit(client, ["First Person"])
    submit(client, ["Second Person"])
    _store_fails_once(monkeypatch, OperationalError("database is locked"))
    ctx = ctx_for(dave)
    assert portal_queue_open(ctx=ctx, actor=dave, limit=5) == 0  # the batch ends there
    assert _stored() == (0, 0, 2)
    assert not QueuedRequest.objects.filter(failed_at__isnull=False).exists()
    assert portal_queue_open(ctx=ctx, actor=dave, limit=5) == 2
    assert _stored() == (2, 2, 0)


def test_one_worker_at_a_time_opens_in_the_background(settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    with queue.background_turn() as first, queue.background_turn() as second:
        assert first is True and second is False
    with queue.background_turn() as after_it:
        assert after_it is True


def test_while_another_worker_opens_a_page_leaves_the_queue_to_it(
    client, dave, queue_on, settings, tmp_path
) -> None:
    settings.DATA_DIR = tmp_path
    for i in range(3):
        submit(client, [f"Person {i}"])
    login(client, dave)
    with queue.background_turn() as held:
        assert held
        client.get(reverse("web:requests"))
        assert _stored() == (1, 1, 2)  # the one opened before the answer, none after it
    client.get(reverse("web:dashboard"))
    assert _stored() == (3, 3, 0)


def test_without_a_lock_file_nothing_is_opened_in_the_background(settings, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.DATA_DIR = blocker / "data"
    with caplog.at_level(logging.WARNING), queue.background_turn() as mine:
        assert mine is False
    assert "not opened in the background" in caplog.text


def test_queued_people_opened_by_the_intake_are_searchable_and_compared_at_once(
    client, alice, dave, queue_on
) -> None:
    from haven.cases.search import person_search
    from haven.dedupe.models import DuplicateCandidate, PersonEncoding
    from haven.vault.models import SearchIndexPending
    from tests.dedupe.helpers import record

    earlier = record(
        ctx=ctx_for(alice),
        actor=alice,
        name_hangul="김선희",
        birth_value="",
        birth_precision="unknown",
    )
    submit(client, ["김선희"], account="We hide.")
    assert QueuedRequest.objects.count() == 1
    login(client, dave)
    assert client.get(reverse("web:requests")).status_code == 200
    (case,) = Case.objects.filter(request__created_by__isnull=True)
    # Opened with the intake's index key: nothing is left for later pages to catch up on.
    assert not SearchIndexPending.objects.filter(data_key_id=case.data_key_id).exists()
    encoding = PersonEncoding.objects.get(person_id=case.person_id)
    assert encoding.generation is not None and encoding.pending_since is None
    found = person_search(ctx=ctx_for(dave), user=dave, query="김선희", refresh=0)
    assert case in list(found)
    pair = {earlier.pk, case.pk}
    assert any({c.case_a_id, c.case_b_id} == pair for c in DuplicateCandidate.objects.all()), (
        "the earlier person with the same name is proposed as a possible duplicate"
    )


def test_queued_people_opened_without_the_index_key_wait_for_someone_who_holds_it(
    dave, queue_on, client
) -> None:
    from haven.dedupe.models import PersonEncoding
    from haven.vault.models import SearchIndexPending

    submit(client, ["김선희"], account="We hide.")
    opener = ctx_for(dave)
    opener.holds_index_key = lambda: False  # type: ignore[method-assign]
    assert portal_queue_open(ctx=opener, actor=dave, limit=5) == 1
    (case,) = Case.objects.all()
    assert SearchIndexPending.objects.filter(data_key_id=case.data_key_id).exists()
    assert PersonEncoding.objects.get(person_id=case.person_id).pending_since is not None

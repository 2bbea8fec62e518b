"""Work a staff page leaves for after its answer (haven.web.after): catching up on the records
the portal stored, which only staff keys can index and encode, without the page waiting."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from haven.audit.models import AuditEntry
from haven.cases.models import Request
from haven.cases.search import INLINE_REFRESH
from haven.crypto import KeyContext
from haven.dedupe.models import PersonEncoding
from haven.dedupe.selectors import INLINE_CATCH_UP, PENDING_BATCH
from haven.dedupe.store import waiting_encodings
from haven.portal.services import Submission, portal_request_create
from haven.vault.index import index_key_active
from haven.vault.models import SearchIndexPending
from haven.web import after
from haven.web.after import AfterResponseMiddleware, after_response
from tests.factories import login


def _ask(count: int) -> list[Request]:
    return [
        portal_request_create(
            submission=Submission(
                names=[f"Park Asked{i:03d}"],
                country="CN",
                region="",
                urgency=3,
                account="We want to leave.",
                contact="",
            ),
            form_token=f"after-{i}",
        )[0]
        for i in range(count)
    ]


def _waiting_encodings() -> int:
    generation = index_key_active().generation
    return PersonEncoding.objects.filter(waiting_encodings(generation=generation)).count()


@pytest.mark.django_db  # closing a response sends request_finished, which checks connections
def test_work_left_by_a_view_runs_only_once_the_response_is_closed() -> None:
    done: list[str] = []

    def view(request):
        after_response(request, lambda: done.append("first"))
        after_response(request, lambda: done.append("second"))
        done.append("view")
        return HttpResponse("page")

    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))
    assert done == ["view"]
    response.close()  # what the WSGI server does after the last byte
    assert done == ["view", "first", "second"]


@pytest.mark.django_db
def test_work_that_fails_after_the_response_is_logged_and_the_rest_still_runs(caplog) -> None:
    done: list[str] = []

    def view(request):
        after_response(request, lambda: 1 / 0)
        after_response(request, lambda: done.append("ran"))
        return HttpResponse("page")

    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))
    with caplog.at_level(logging.ERROR, logger="haven.web"):
        response.close()
    assert done == ["ran"]
    assert "after a response failed" in caplog.text


def test_a_page_that_leaves_nothing_adds_no_closer() -> None:
    response = AfterResponseMiddleware(lambda request: HttpResponse("page"))(
        RequestFactory().get("/")
    )
    assert response._resource_closers == []


@pytest.mark.django_db
def test_a_search_leaves_a_backlog_whole_for_after_its_answer(client, dave) -> None:
    _ask(INLINE_REFRESH + 7)
    assert SearchIndexPending.objects.count() == INLINE_REFRESH + 7
    login(client, dave)
    seen: list[int] = []
    run = after.run_after
    forgotten: list[bool] = []

    def counting(response, work, *, finally_=None):
        def first():
            seen.append(SearchIndexPending.objects.count())  # when the answer has been sent

        def last():
            finally_()
            # The person's keys were kept for the work, and forgotten after it.
            forgotten.append(not finally_.__self__.holds_index_key())

        run(response, [first, *work], finally_=last)

    with mock.patch("haven.vault.middleware.run_after", counting):
        page = client.get(reverse("web:search"), {"q": "Park Asked001"})
    html = page.content.decode()
    assert page.status_code == 200
    # More wait than a page indexes before it answers: none is, and the page says so.
    assert seen == [INLINE_REFRESH + 7] and forgotten == [True]
    assert 'id="search-waiting"' in html
    assert f"{INLINE_REFRESH + 7} records that came in lately" in html
    # Indexed once the answer was sent: the next search finds everyone, and says nothing.
    assert not SearchIndexPending.objects.exists()
    found = client.get(reverse("web:search"), {"q": "Park Asked026"}).content.decode()
    assert "Park Asked026" in found and 'id="search-waiting"' not in found


@pytest.mark.django_db
def test_a_search_indexes_the_few_waiting_records_before_it_answers(client, dave) -> None:
    _ask(INLINE_REFRESH)
    login(client, dave)
    with mock.patch("haven.vault.middleware.run_after", side_effect=AssertionError("work left")):
        page = client.get(reverse("web:search"), {"q": f"Park Asked{INLINE_REFRESH - 1:03d}"})
    html = page.content.decode()
    # A request that came in moments ago is found at once.
    assert f"Park Asked{INLINE_REFRESH - 1:03d}" in html and 'id="search-waiting"' not in html
    assert not SearchIndexPending.objects.exists()


@pytest.mark.django_db
def test_the_case_list_search_says_what_cannot_be_found_yet(client, dave) -> None:
    _ask(INLINE_REFRESH + 3)
    login(client, dave)
    html = client.get(reverse("web:cases"), {"q": "Park"}).content.decode()
    assert "3 records that came in lately cannot be found by search yet" in html
    assert not SearchIndexPending.objects.exists()


@pytest.mark.django_db
def test_a_request_page_leaves_a_backlog_of_others_for_after_its_answer(client, dave) -> None:
    asked = _ask(PENDING_BATCH + 5)
    login(client, dave)
    seen: list[int] = []
    run = after.run_after

    def counting(response, work, *, finally_=None):
        def first():
            seen.append(_waiting_encodings())

        run(response, [first, *work], finally_=finally_)

    with mock.patch("haven.vault.middleware.run_after", counting):
        page = client.get(reverse("web:request", args=[asked[0].pk]))
    assert page.status_code == 200
    # Its own person before the answer; the others are more than a page encodes before it, so
    # none of them is: the page says how many wait, and ten are encoded once it is sent.
    left = PENDING_BATCH + 5 - 1
    assert left > INLINE_CATCH_UP and seen == [left]
    assert f"{left} people who came in lately have not been compared" in page.content.decode()
    assert _waiting_encodings() == left - PENDING_BATCH
    shown = asked[0].cases.get().person_id
    assert not PersonEncoding.objects.filter(
        waiting_encodings(generation=index_key_active().generation), person_id=shown
    ).exists()


@pytest.mark.django_db
def test_a_request_page_compares_the_few_people_waiting_before_it_answers(client, dave) -> None:
    asked = _ask(1 + INLINE_CATCH_UP)
    login(client, dave)
    with mock.patch("haven.vault.middleware.run_after", side_effect=AssertionError("work left")):
        page = client.get(reverse("web:request", args=[asked[-1].pk]))
    assert page.status_code == 200
    assert 'id="duplicates-waiting"' not in page.content.decode()
    assert _waiting_encodings() == 0


@pytest.mark.django_db
def test_a_request_page_with_nobody_waiting_leaves_no_work(client, dave) -> None:
    asked = _ask(1)
    login(client, dave)
    with mock.patch("haven.vault.middleware.run_after", side_effect=AssertionError("work left")):
        page = client.get(reverse("web:request", args=[asked[0].pk]))
    assert page.status_code == 200 and 'id="duplicates-waiting"' not in page.content.decode()


@pytest.mark.django_db
def test_work_after_the_answer_is_audited_under_the_pages_session(client, dave) -> None:
    _ask(INLINE_REFRESH + 2)
    login(client, dave)
    client.get(reverse("web:search"), {"q": "Park"})
    searched = AuditEntry.objects.filter(action="case.search").latest("seq")
    indexed = AuditEntry.objects.filter(action="search.index").order_by("seq")
    # More wait than a page indexes first: all of them after the answer, in one entry.
    assert indexed.count() == 1
    assert indexed.last().seq > searched.seq
    assert searched.session and {entry.session for entry in indexed} == {searched.session}


@pytest.mark.django_db
def test_keys_are_forgotten_after_the_work_even_when_it_fails(client, dave) -> None:
    _ask(INLINE_REFRESH + 2)
    login(client, dave)
    contexts: list[KeyContext] = []
    real = KeyContext.forget

    def forget(self):
        contexts.append(self)
        real(self)

    with (
        mock.patch.object(KeyContext, "forget", forget),
        mock.patch("haven.web.views.search.search_index_refresh", side_effect=RuntimeError),
    ):
        page = client.get(reverse("web:search"), {"q": "Park"})
    assert page.status_code == 200
    assert len(contexts) == 1 and not contexts[0].holds_index_key()


@pytest.mark.django_db
def test_work_with_keys_runs_and_forgets_them_without_the_generic_middleware(
    client, dave, settings
) -> None:
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "haven.web.after.AfterResponseMiddleware"
    ]
    _ask(INLINE_REFRESH + 2)
    login(client, dave)
    client.get(reverse("web:search"), {"q": "Park"})
    assert not SearchIndexPending.objects.exists()


@pytest.mark.django_db
def test_a_role_that_cannot_search_leaves_no_work(client, erin) -> None:
    _ask(INLINE_REFRESH + 2)
    login(client, erin)
    with mock.patch("haven.vault.middleware.run_after", side_effect=AssertionError("work left")):
        page = client.get(reverse("web:search"), {"q": "Park"})
    assert page.status_code == 403
    assert SearchIndexPending.objects.count() == INLINE_REFRESH + 2


@pytest.mark.django_db
def test_a_page_that_leaves_no_work_forgets_the_keys_with_its_answer(client, dave) -> None:
    login(client, dave)
    forgotten: list[str] = []
    real = KeyContext.forget

    def forget(self):
        forgotten.append("forget")
        real(self)

    with (
        mock.patch.object(KeyContext, "forget", forget),
        mock.patch("haven.vault.middleware.run_after", side_effect=AssertionError("work left")),
    ):
        assert client.get(reverse("web:dashboard")).status_code == 200
    assert forgotten == ["forget"]


@pytest.mark.django_db
@pytest.mark.parametrize("waiting", [0, 3, INLINE_REFRESH + 3])
def test_a_search_reads_what_waits_for_its_tokens_once_before_it_answers(
    client, dave, waiting
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    asked = _ask(waiting)
    login(client, dave)
    with (
        mock.patch("haven.vault.middleware.run_after", lambda response, work, **kw: None),
        CaptureQueriesContext(connection) as queries,
    ):
        page = client.get(reverse("web:search"), {"q": "Park Asked001"})
    assert page.status_code == 200
    reads = [
        q["sql"]
        for q in queries.captured_queries
        # The walk over every waiting row (claiming the few to index reads only those).
        if 'FROM "vault_searchindexpending" WHERE EXISTS' in q["sql"]
    ]
    assert len(reads) == 1, reads
    # The few were indexed before the answer (and found); a backlog was left whole.
    left = SearchIndexPending.objects.count()
    assert left == (waiting if waiting > INLINE_REFRESH else 0)
    if waiting:
        case = asked[1].cases.get()
        found = f'href="/cases/{case.pk}/"' in page.content.decode()
        assert found == (waiting <= INLINE_REFRESH)


@pytest.mark.django_db
def test_the_search_page_records_one_search_entry_for_people_groups_and_brokers(
    client, dave
) -> None:
    _ask(1)
    login(client, dave)
    before = AuditEntry.objects.count()

    page = client.get(reverse("web:search"), {"q": "Park"})

    assert page.status_code == 200
    actions = [e.action for e in AuditEntry.objects.order_by("seq")[before:]]
    assert actions.count("case.search") == 1
    assert not {"group.search", "broker.search"} & set(actions)

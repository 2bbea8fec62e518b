"""Statements from draft to release and withdrawal, cover values, openings: who may do what, what
is refused (and then nothing changes), and what the press officer never holds."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.audit.models import AuditEntry
from haven.cases.journey import State
from haven.cases.models import Case
from haven.cases.services import case_delete, journey_advance, person_update
from haven.disclosure import facts
from haven.disclosure.models import Cover, LeakPrint, Opening, Statement, StatementStatus
from haven.disclosure.selectors import (
    StatementWithheldError,
    cover_value,
    statement_output,
    statement_view,
)
from haven.disclosure.services import (
    StatementBlockedError,
    cover_set,
    opening_close,
    opening_set,
    statement_approve,
    statement_create,
    statement_release,
    statement_return,
    statement_submit,
    statement_update,
    statement_withdraw,
)
from haven.errors import ConflictError
from haven.vault.holders import holds_key
from haven.vault.models import DataKey, Grant
from haven.vault.sealed import MissingKeyError, payload_read
from tests.disclosure.helpers import (
    STATEMENT_EN,
    THREE,
    TO_THAILAND,
    advance,
    arrive,
    cover,
    group_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def arrived(ctx, alice, group):
    advance(ctx, alice, group, TO_THAILAND)
    arrive(ctx, alice, group)
    return group


@pytest.fixture
def group_cover(ctx, alice, arrived):
    return cover_set(
        ctx=ctx, actor=alice, group=arrived, label="Spring group", fields=group_fields(arrived=True)
    )


def _draft(press, heidi, group_cover, text=STATEMENT_EN, **kwargs):
    return statement_create(
        ctx=press,
        actor=heidi,
        title=kwargs.pop("title", "Three reach safety"),
        texts={"en": text},
        subjects={"A": str(group_cover.pk)},
    )


def _submitted(press, heidi, group_cover, text=STATEMENT_EN):
    statement = _draft(press, heidi, group_cover, text)
    statement_submit(
        ctx=press, actor=heidi, statement=statement, expected_version=statement.version
    )
    statement.refresh_from_db()
    return statement


def _approved(ctx, alice, press, heidi, group_cover, text=STATEMENT_EN):
    statement = _submitted(press, heidi, group_cover, text)
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=statement.version)
    statement.refresh_from_db()
    return statement


def _released(ctx, alice, press, heidi, group_cover, text=STATEMENT_EN):
    statement = _approved(ctx, alice, press, heidi, group_cover, text)
    statement_release(
        ctx=press, actor=heidi, statement=statement, expected_version=statement.version
    )
    statement.refresh_from_db()
    return statement


# --- the press officer holds no case -----------------------------------------------------------


def test_the_press_officer_works_without_any_case_key(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _released(ctx, alice, press, heidi, group_cover)
    assert statement.status == StatementStatus.RELEASED
    for case in Case.objects.filter(group=group_cover.group):
        assert not holds_key(heidi, case.data_key_id)
        with pytest.raises(MissingKeyError):
            payload_read(ctx=press, record=case.person)
    assert not Grant.objects.filter(user=heidi).exists()


def test_cover_values_and_statements_are_sealed_to_the_press_key_only(
    ctx, group_cover, heidi
) -> None:
    grants = Grant.objects.filter(data_key_id=group_cover.data_key_id)
    assert [g.team_key.kind for g in grants] == ["press"]
    prints = LeakPrint.objects.filter(case__group=group_cover.group)
    assert prints.count() == 3
    for record in prints:
        assert [g.team_key.kind for g in Grant.objects.filter(data_key_id=record.data_key_id)] == [
            "press"
        ]


# --- approval and release --------------------------------------------------------------------------


def test_the_author_never_approves_and_the_press_role_cannot(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _submitted(press, heidi, group_cover)
    with pytest.raises(PermissionDenied):
        statement_approve(
            ctx=press, actor=heidi, statement=statement, expected_version=statement.version
        )


def test_a_supervisor_cannot_draft(ctx, alice, group_cover) -> None:
    with pytest.raises(PermissionDenied):
        statement_create(
            ctx=ctx, actor=alice, title="x", texts={"en": "x"}, subjects={"A": str(group_cover.pk)}
        )


def test_a_true_name_in_the_text_blocks_approval_and_the_approver_sees_which_field(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _submitted(press, heidi, group_cover, STATEMENT_EN + " Gim Seon-hui thanked us.")
    before = AuditEntry.objects.count()
    with pytest.raises(StatementBlockedError) as blocked:
        statement_approve(
            ctx=ctx, actor=alice, statement=statement, expected_version=statement.version
        )
    hits = blocked.value.hits
    assert [(h.field, h.part, h.phrase) for h in hits] == [("name", "full name", "Gim Seon-hui")]
    assert "Gim Seon-hui" not in str(blocked.value)  # the message for everyone names no value
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUBMITTED
    refused = AuditEntry.objects.filter(action="statement.approve_refused")
    assert refused.count() == 1 and AuditEntry.objects.count() == before + 1
    assert refused.get().detail["reason"] == "leak"


def test_a_name_of_someone_not_yet_safe_elsewhere_blocks_until_a_supervisor_clears_it(
    ctx, alice, heidi, press, group_cover
) -> None:
    from haven.cases.models import Channel
    from haven.cases.services import PersonInput, request_create

    request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Alone.",
        people=[PersonInput(name_hangul="최은정", name_romanized="Choe Un-jong")],
    )
    name = "Choi Eun-jeong"
    statement = _submitted(press, heidi, group_cover, STATEMENT_EN + f" Unlike {name}.")
    with pytest.raises(StatementBlockedError) as blocked:
        statement_approve(
            ctx=ctx, actor=alice, statement=statement, expected_version=statement.version
        )
    assert {h.field for h in blocked.value.hits} == {"index-name"}
    with pytest.raises(ValidationError):  # a clearance needs its reason
        statement_approve(
            ctx=ctx,
            actor=alice,
            statement=statement,
            expected_version=statement.version,
            cleared=[name],
        )
    statement_approve(
        ctx=ctx,
        actor=alice,
        statement=statement,
        expected_version=statement.version,
        cleared=[name],
        cleared_reason="A public figure of the same name.",
    )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.APPROVED


def test_a_cleared_phrase_never_hides_a_true_value_of_the_subjects(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _submitted(press, heidi, group_cover, STATEMENT_EN + " Kim Sun-hui spoke.")
    with pytest.raises(StatementBlockedError):
        statement_approve(
            ctx=ctx,
            actor=alice,
            statement=statement,
            expected_version=statement.version,
            cleared=["Kim Sun-hui"],
            cleared_reason="Trying to push it through.",
        )


def test_release_freezes_the_rendered_text_and_release_time(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _released(ctx, alice, press, heidi, group_cover)
    data = payload_read(ctx=press, record=statement)
    assert data["released"]["texts"]["en"].startswith(
        "3 North Korean restaurant workers from Shanghai"
    )
    assert statement.released_by == heidi and statement.released_at is not None
    # Later changes to the cover record do not change what was released.
    group_cover.refresh_from_db()
    fields = group_fields(arrived=True)
    fields["origin"] = cover(en="Dalian")
    cover_set(
        ctx=ctx,
        actor=alice,
        group=group_cover.group,
        label="Spring group",
        fields=fields,
        expected_version=group_cover.version,
    )
    out = statement_output(ctx=press, user=heidi, statement=statement, form="text")
    assert "Shanghai" in out["texts"]["en"] and "Dalian" not in out["texts"]["en"]


def test_a_cover_changed_after_approval_blocks_release_until_approved_again(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _approved(ctx, alice, press, heidi, group_cover)
    fields = group_fields(arrived=True)
    fields["origin"] = cover(en="Dalian")
    group_cover.refresh_from_db()
    cover_set(
        ctx=ctx,
        actor=alice,
        group=group_cover.group,
        label="Spring group",
        fields=fields,
        expected_version=group_cover.version,
    )
    with pytest.raises(StatementBlockedError) as blocked:
        statement_release(
            ctx=press, actor=heidi, statement=statement, expected_version=statement.version
        )
    assert blocked.value.changed
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=statement.version)
    statement.refresh_from_db()
    statement_release(
        ctx=press, actor=heidi, statement=statement, expected_version=statement.version
    )


def test_a_reference_without_a_cover_value_blocks_approval(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _submitted(
        press, heidi, group_cover, STATEMENT_EN + " They left from [[A.departure]]."
    )
    with pytest.raises(StatementBlockedError) as blocked:
        statement_approve(
            ctx=ctx, actor=alice, statement=statement, expected_version=statement.version
        )
    assert blocked.value.missing == ["A.departure"]


def test_returning_and_editing_voids_the_approval(ctx, alice, heidi, press, group_cover) -> None:
    statement = _approved(ctx, alice, press, heidi, group_cover)
    statement_return(
        ctx=ctx,
        actor=alice,
        statement=statement,
        expected_version=statement.version,
        note="Shorter, please.",
    )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DRAFT and statement.approved_by is None
    view = statement_view(ctx=press, user=heidi, statement=statement)
    assert view.review["note"] == "Shorter, please." and view.approval == {}
    statement_update(
        ctx=press,
        actor=heidi,
        statement=statement,
        expected_version=statement.version,
        title="Shorter",
        texts={"en": "[[A.count]] people arrived."},
        subjects={"A": str(group_cover.pk)},
    )
    statement.refresh_from_db()
    with pytest.raises(ValidationError):
        statement_release(
            ctx=press, actor=heidi, statement=statement, expected_version=statement.version
        )


def test_a_stale_version_changes_nothing(ctx, alice, heidi, press, group_cover) -> None:
    statement = _submitted(press, heidi, group_cover)
    with pytest.raises(ConflictError):
        statement_approve(
            ctx=ctx, actor=alice, statement=statement, expected_version=statement.version - 1
        )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUBMITTED


def test_withdrawn_statements_do_not_go_out(ctx, alice, heidi, press, group_cover) -> None:
    statement = _released(ctx, alice, press, heidi, group_cover)
    with pytest.raises(ValidationError):
        statement_withdraw(
            ctx=press,
            actor=heidi,
            statement=statement,
            expected_version=statement.version,
            reason="",
        )
    statement_withdraw(
        ctx=press,
        actor=heidi,
        statement=statement,
        expected_version=statement.version,
        reason="The family asked us.",
    )
    statement.refresh_from_db()
    with pytest.raises(StatementWithheldError):
        statement_output(ctx=press, user=heidi, statement=statement, form="text")


# --- the gate at every render -------------------------------------------------------------------


def test_side_exits_are_closed_until_opened_and_close_again_when_the_state_moves(
    ctx, alice, heidi, press, group
) -> None:
    advance(ctx, alice, group, TO_THAILAND[:5])  # in transit, in Laos
    case = Case.objects.filter(group=group).order_by("pk").first()
    journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.DETAINED,
        expected_version=case.version,
        country="LA",
    )
    case.refresh_from_db()
    made = cover_set(
        ctx=ctx,
        actor=alice,
        case=case,
        label="Detained in Laos",
        fields={"name": cover(en="a young woman"), "now": cover(en="a neighbouring country")},
    )
    assert cover_value(ctx=press, field_name="now", case=case) is None
    # The others of the group are still on the way: the case cover speaks about them too.
    for other in Case.objects.filter(group=group).exclude(pk=case.pk):
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=other,
            to_state=State.DETAINED,
            expected_version=other.version,
            country="LA",
        )
    with pytest.raises(ValidationError):
        opening_set(ctx=ctx, actor=alice, case=case, reason="")
    for each in Case.objects.filter(group=group):
        opening_set(ctx=ctx, actor=alice, case=each, reason="The family asked us to speak out.")
    assert cover_value(ctx=press, field_name="now", case=case) == "a neighbouring country"
    statement = statement_create(
        ctx=press,
        actor=heidi,
        title="Detained",
        texts={"en": "[[A.name]] is held in [[A.now]]."},
        subjects={"A": str(made.pk)},
    )
    statement_submit(
        ctx=press, actor=heidi, statement=statement, expected_version=statement.version
    )
    statement.refresh_from_db()
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=statement.version)
    statement.refresh_from_db()
    statement_release(
        ctx=press, actor=heidi, statement=statement, expected_version=statement.version
    )
    statement.refresh_from_db()
    assert (
        "a young woman is held"
        in statement_output(ctx=press, user=heidi, statement=statement, form="text")["texts"]["en"]
    )
    # She is sent back: the opening was for "detained", so the statement closes at once.
    case.refresh_from_db()
    journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.REPATRIATED,
        expected_version=case.version,
        country="KP",
    )
    with pytest.raises(StatementWithheldError):
        statement_output(ctx=press, user=heidi, statement=statement, form="text")
    view = statement_view(ctx=press, user=heidi, statement=statement)
    assert view.released is None and view.withheld
    assert cover_value(ctx=press, field_name="now", case=case) is None


def test_opening_only_side_exits_and_closing_again(ctx, alice, group) -> None:
    case = Case.objects.filter(group=group).first()
    with pytest.raises(ValidationError):
        opening_set(ctx=ctx, actor=alice, case=case, reason="Why not.")
    advance(ctx, alice, group, TO_THAILAND[:5])
    case.refresh_from_db()
    journey_advance(
        ctx=ctx, actor=alice, case=case, to_state=State.LOST_CONTACT, expected_version=case.version
    )
    opening_set(ctx=ctx, actor=alice, case=case, reason="Public appeal.")
    assert Opening.objects.filter(case=case, state="lost_contact").exists()
    opening_close(ctx=ctx, actor=alice, case=case)
    assert not Opening.objects.filter(case=case).exists()
    assert (
        AuditEntry.objects.filter(action__in=["disclosure.open", "disclosure.close"]).count() == 2
    )


def test_a_changed_true_value_withholds_a_released_statement_at_render(
    ctx, alice, heidi, press, group_cover
) -> None:
    statement = _released(ctx, alice, press, heidi, group_cover, STATEMENT_EN + " Thanks to Lotus.")
    # A supervisor records that one of them was called "Lotus" at work and saves the cover
    # record again (which refreshes the fingerprints): the released text now holds a true alias.
    case = Case.objects.filter(group=group_cover.group).order_by("pk").first()
    person = THREE[0]
    person.aliases = ["Lotus"]
    person_update(
        ctx=ctx, actor=alice, case=case, expected_version=case.person.version, person=person
    )
    person.aliases = ["Jin Meihua"]
    group_cover.refresh_from_db()
    cover_set(
        ctx=ctx,
        actor=alice,
        group=group_cover.group,
        label="Spring group",
        fields=group_fields(arrived=True),
        expected_version=group_cover.version,
    )
    with pytest.raises(StatementWithheldError):
        statement_output(ctx=press, user=heidi, statement=statement, form="text")


# --- cover values ------------------------------------------------------------------------------------


def test_a_cover_value_that_is_a_true_value_is_refused(ctx, alice, arrived) -> None:
    fields = group_fields(arrived=True)
    fields["origin"] = cover(en="Shanxi")
    with pytest.raises(ValidationError) as refused:
        cover_set(ctx=ctx, actor=alice, group=arrived, label="Spring group", fields=fields)
    assert "true values" in str(refused.value)
    with pytest.raises(ValidationError):
        cover_set(
            ctx=ctx,
            actor=alice,
            group=arrived,
            label="Kim Sun-hui and friends",
            fields=group_fields(arrived=True),
        )
    assert not Cover.objects.exists()


def test_publishing_the_truth_needs_a_reason(ctx, alice, arrived) -> None:
    fields = group_fields(arrived=True)
    fields["origin"] = cover(facts.TRUE)
    with pytest.raises(ValidationError) as refused:
        cover_set(ctx=ctx, actor=alice, group=arrived, label="Spring group", fields=fields)
    assert "fields.origin.reason" in refused.value.message_dict


def test_only_supervisors_record_cover_values(ctx, bob, heidi, arrived) -> None:
    for actor in (bob, heidi):
        with pytest.raises(PermissionDenied):
            cover_set(ctx=ctx, actor=actor, group=arrived, label="x", fields={})


def test_a_true_origin_published_is_not_a_leak(ctx, alice, heidi, press, arrived) -> None:
    fields = group_fields(arrived=True)
    fields["origin"] = cover(facts.TRUE, reason="Everyone knows the province.")
    made = cover_set(ctx=ctx, actor=alice, group=arrived, label="Spring group", fields=fields)
    statement = _released(ctx, alice, press, heidi, made)
    out = statement_output(ctx=press, user=heidi, statement=statement, form="text")
    assert "from Shanxi" in out["texts"]["en"]


def test_deleting_a_case_destroys_its_cover_values_and_fingerprints(
    ctx, alice, heidi, press, arrived
) -> None:
    case = Case.objects.filter(group=arrived).order_by("pk").first()
    made = cover_set(
        ctx=ctx, actor=alice, case=case, label="One of three", fields={"name": cover(en="A")}
    )
    group_made = cover_set(
        ctx=ctx, actor=alice, group=arrived, label="Spring group", fields=group_fields(arrived=True)
    )
    keys = {
        made.data_key_id,
        *LeakPrint.objects.filter(case=case).values_list("data_key_id", flat=True),
    }
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)
    assert not Cover.objects.filter(pk=made.pk).exists()
    assert not LeakPrint.objects.filter(case_id=case.pk).exists()
    assert not DataKey.objects.filter(pk__in=keys).exists()
    # The group and its cover stay while other members do; with the last, they go too.
    assert Cover.objects.filter(pk=group_made.pk).exists()
    for other in Case.objects.filter(group=arrived):
        other.refresh_from_db()
        case_delete(ctx=ctx, actor=alice, case=other, expected_version=other.version)
    assert (
        not Cover.objects.exists()
        and not DataKey.objects.filter(pk=group_made.data_key_id).exists()
    )


# --- bad input: a clear error, nothing stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "subjects", "field"),
    [
        ({"en": "[[B.origin]] is where."}, "A", "texts.en"),
        ({"en": "[[A.colour]] is what."}, "A", "texts.en"),
        ({"en": "[[A.origin is broken"}, "A", "texts.en"),
        ({"en": "<script>alert(1)</script>"}, "A", "texts.en"),
        ({"en": "<img src=x onerror=alert(1)>"}, "A", "texts.en"),
        ({"en": "Kim\u200bSun-hui"}, "A", "texts.en"),
        ({"en": "x" * 40_001}, "A", "texts.en"),
        ({"en": "fine\x00"}, "A", "texts.en"),
        ({"fr": "Bonjour"}, "A", "texts"),
        ({"en": ""}, "A", "texts"),
        ({"en": "fine"}, "case", "subjects"),
        ({"en": "fine"}, "random", "subjects"),
        ({"en": "fine"}, "bad-handle", "subjects"),
    ],
)
def test_bad_statements_are_refused_and_store_nothing(
    ctx, alice, heidi, press, group_cover, texts, subjects, field
) -> None:
    import uuid

    case = Case.objects.filter(group=group_cover.group).first()
    chosen = {
        "A": {"A": str(group_cover.pk)},
        "case": {"A": str(case.pk)},  # a case the author may not see is no cover record
        "random": {"A": str(uuid.uuid4())},
        "bad-handle": {"a b": str(group_cover.pk)},
    }[subjects]
    before = (Statement.objects.count(), DataKey.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError) as refused:
        statement_create(ctx=press, actor=heidi, title="A title", texts=texts, subjects=chosen)
    assert field in refused.value.message_dict
    assert (
        Statement.objects.count(),
        DataKey.objects.count(),
        AuditEntry.objects.count(),
    ) == before


def test_a_hostile_title_is_refused(ctx, heidi, press, group_cover) -> None:
    with pytest.raises(ValidationError) as refused:
        statement_create(
            ctx=press,
            actor=heidi,
            title="<b>Hi</b>",
            texts={"en": "x"},
            subjects={"A": str(group_cover.pk)},
        )
    assert "title" in refused.value.message_dict
    assert not Statement.objects.exists()

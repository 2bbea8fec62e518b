"""The story's scenario, end to end and committed for real: a statement about three people
waiting in Thailand is refused before they arrive; after they arrive it is released saying
"Shanghai" where the truth is Shanxi, and the released text names none of them in any spelling."""

from __future__ import annotations

import pytest

from haven.accounts.models import Role
from haven.cases.models import Case
from haven.disclosure.models import Statement, StatementStatus
from haven.disclosure.selectors import statement_output
from haven.disclosure.services import (
    StatementBlockedError,
    cover_set,
    statement_approve,
    statement_create,
    statement_release,
    statement_submit,
)
from haven.vault.services import org_keys_setup, team_keys_share_pending
from tests.disclosure.helpers import (
    STATEMENT_EN,
    STATEMENT_KO,
    TO_THAILAND,
    advance,
    arrive,
    group_fields,
    make_group,
)
from tests.factories import TeamFactory, UserFactory, ctx_for

# Every spelling of the three names the matcher reads, and their Hangul.
SPELLINGS = [
    "김선희",
    "Kim Sun-hui",
    "Kim Sun Hui",
    "Kimsunhui",
    "Gim Seon-hui",
    "Kim Sŏn-hŭi",
    "Kim Son Hui",
    "Sun-hui",
    "Jin Meihua",
    "리영호",
    "이영호",
    "Ri Yong-ho",
    "Lee Young-ho",
    "Yi Yŏng-ho",
    "Ri Yong Ho",
    "박정민",
    "Pak Jong-min",
    "Park Jung-min",
    "Bak Jeong-min",
    "Shanxi",
    "山西",
]


@pytest.mark.django_db(transaction=True)
def test_three_in_thailand_are_refused_then_released_with_the_cover_origin() -> None:
    org = org_keys_setup()
    team = TeamFactory(name="Team A")
    from haven.vault.services import team_key_create

    team_key_create(ctx=org.ctx, actor=None, team=team)
    alice = UserFactory(username="alice", role=Role.SUPERVISOR, team=team)
    heidi = UserFactory(username="heidi", role=Role.PRESS)
    team_keys_share_pending(ctx=org.ctx, actor=None)
    supervisor, press = ctx_for(alice), ctx_for(heidi)

    group = make_group(supervisor, alice)
    advance(supervisor, alice, group, TO_THAILAND)
    cover = cover_set(
        ctx=supervisor,
        actor=alice,
        group=group,
        label="Spring group",
        fields=group_fields(arrived=False),
    )

    draft = statement_create(
        ctx=press,
        actor=heidi,
        title="Three workers reach safety",
        texts={"en": STATEMENT_EN, "ko": STATEMENT_KO},
        subjects={"A": str(cover.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=draft, expected_version=draft.version)
    draft.refresh_from_db()
    with pytest.raises(StatementBlockedError) as refused:
        statement_approve(
            ctx=supervisor, actor=alice, statement=draft, expected_version=draft.version
        )
    assert refused.value.closed == ["A"]
    draft.refresh_from_db()
    assert draft.status == StatementStatus.SUBMITTED  # nothing changed

    arrive(supervisor, alice, group)
    assert set(Case.objects.filter(group=group).values_list("state", flat=True)) == {"arrived"}
    cover.refresh_from_db()
    cover = cover_set(
        ctx=supervisor,
        actor=alice,
        group=group,
        label="Spring group",
        fields=group_fields(arrived=True),
        expected_version=cover.version,
    )
    statement_approve(ctx=supervisor, actor=alice, statement=draft, expected_version=draft.version)
    draft.refresh_from_db()
    statement_release(ctx=press, actor=heidi, statement=draft, expected_version=draft.version)

    released = Statement.objects.get(pk=draft.pk)
    assert released.status == StatementStatus.RELEASED and released.released_at is not None
    out = statement_output(ctx=press, user=heidi, statement=released, form="text")
    text = " ".join([out["title"], *out["texts"].values()])
    assert "Shanghai" in text and "상하이" in text
    assert "3 North Korean restaurant workers" in text
    lowered = text.casefold()
    for spelling in SPELLINGS:
        assert spelling.casefold() not in lowered, spelling

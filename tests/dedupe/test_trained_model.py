"""A model trained on the organisation's own encodings: stored, audited, used for scoring."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.dedupe import services
from haven.dedupe.models import TrainedModel
from haven.dedupe.scoring import VERSION, default_model, model_from_parameters, model_parameters
from haven.dedupe.selectors import scoring_model, trained_model
from haven.dedupe.services import dedupe_run, match_model_train
from tests.dedupe.helpers import HANGUL, MR, record
from tests.factories import PASSWORD, ctx_for

pytestmark = pytest.mark.django_db


def _store(parameters: object, *, people: int = 5000, version: str = VERSION) -> TrainedModel:
    return TrainedModel.objects.create(
        trained_at=timezone.now(),
        encoding_version=version,
        people=people,
        candidates=10,
        parameters=parameters,
    )


def test_without_a_stored_model_the_fixed_model_scores():
    assert scoring_model(threshold=0.5) == default_model(threshold=0.5)


def test_a_stored_model_scores_with_its_prior_moved_to_todays_population():
    params = model_parameters(model=default_model())
    params["prior"] = 1e-4
    _store(params, people=1001)
    model = trained_model(threshold=0.5, people=101)
    assert model is not None
    assert model.prior == pytest.approx(1e-3)  # ten times fewer people, ten times the prior
    assert [f.m for f in model.fields] == [f.m for f in default_model().fields]
    assert scoring_model(threshold=0.5, people=101) == model


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.update(prior=2.0),
        lambda p: p.update(fields=p["fields"][:-1]),
        lambda p: p["fields"][1].update(m=[0.5, 0.5]),
        lambda p: p["fields"][0].update(u=[0.0] * 5),
        lambda p: p.pop("prior"),
        lambda p: p.update(fields="not a list"),
    ],
)
def test_a_damaged_or_outdated_stored_model_falls_back_to_the_fixed_one(damage):
    params = model_parameters(model=default_model())
    damage(params)
    _store(params)
    with pytest.raises(ValueError):
        model_from_parameters(parameters=params, people_trained=5000, people_now=10, threshold=0.5)
    assert scoring_model(threshold=0.5) == default_model(threshold=0.5)


def test_a_model_of_another_encoding_version_is_not_used():
    _store(model_parameters(model=default_model()), version="0-deadbeef")
    assert trained_model(threshold=0.5, people=10) is None


def test_training_needs_enough_people(alice, ctx):
    record(ctx=ctx, actor=alice, **HANGUL)
    with pytest.raises(ValidationError, match="Too few people"):
        match_model_train(ctx=ctx, actor=alice)
    assert not TrainedModel.objects.exists()


def test_only_supervisors_train(bob, dave):
    for user in (bob, dave):
        with pytest.raises(PermissionDenied):
            match_model_train(ctx=ctx_for(user), actor=user)


def test_training_stores_parameters_writes_an_audit_entry_and_the_pass_uses_them(
    alice, ctx, monkeypatch
):
    monkeypatch.setattr(services, "MIN_TRAIN", 2)
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    record(ctx=ctx, actor=alice, name_hangul="김선희", sex="female", birth_value="1990")
    stored = match_model_train(ctx=ctx, actor=alice)
    assert stored.people == 3 and stored.trained_by == alice and stored.encoding_version == VERSION
    assert {f["field"] for f in stored.parameters["fields"]} >= {"name", "birth"}
    entry = AuditEntry.objects.filter(action="duplicate.model_train").get()
    assert entry.detail["people"] == 3
    run = dedupe_run(ctx=ctx, actor=alice)
    assert run.stored_model and not run.trained
    assert "the stored model" in str(run)
    assert first.pk and second.pk


def test_dedupe_train_flag(alice, ctx, tmp_path: Path, monkeypatch):
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")
    record(ctx=ctx, actor=alice, **HANGUL)
    out, err = io.StringIO(), io.StringIO()
    args = ("dedupe", "--supervisor", "alice", "--password-file", str(password), "--train")
    with pytest.raises(CommandError, match="Too few people"):
        call_command(*args, stdout=out, stderr=err)
    monkeypatch.setattr(services, "MIN_TRAIN", 1)
    record(ctx=ctx, actor=alice, **MR)
    call_command(*args, stdout=out, stderr=err)
    assert "Model trained on 2 people" in out.getvalue()
    assert "the stored model" in out.getvalue()
    assert TrainedModel.objects.count() == 1

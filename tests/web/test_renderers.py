"""The form renderer writes selects in Python: the same HTML as Django's templates, exactly."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from haven.accounts.models import User
from haven.web.forms import CaseFilterForm, RequestFilterForm
from haven.web.renderers import FormRenderer


class _Odd(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "A & <b>"), ("q", 'say "hi"')])
    lazy = forms.ChoiceField(choices=[("x", gettext_lazy("Active only")), ("y", "Finished")])
    grouped = forms.ChoiceField(
        choices=[("Asia", [("cn", "China"), ("th", "Thailand")]), ("", "Nowhere"), ("zz", "Z")]
    )
    several = forms.MultipleChoiceField(choices=[("1", "one"), ("2", "two"), ("3", "three")])
    numbers = forms.TypedChoiceField(choices=[(1, 1000), (2, 2000)], coerce=int)
    safe = forms.ChoiceField(choices=[("s", mark_safe("<em>kept</em>"))])  # noqa: S308
    yes_no = forms.NullBooleanField()
    off = forms.ChoiceField(choices=[("a", "A")], disabled=True, required=False)
    attrs = forms.ChoiceField(
        choices=[("a", "A")],
        widget=forms.Select(attrs={"data-x": "1 < 2", "autofocus": True, "hidden": False}),
    )


def _both(form: forms.Form) -> list[tuple[str, str]]:
    pairs = []
    for name, field in form.fields.items():
        bound = form[name]
        ours = field.widget.render(
            bound.html_name, bound.value(), bound.build_widget_attrs({}), FormRenderer()
        )
        django = field.widget.render(
            bound.html_name, bound.value(), bound.build_widget_attrs({}), DjangoTemplates()
        )
        pairs.append((str(ours), str(django)))
    return pairs


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"plain": "a", "lazy": "y", "grouped": "th", "several": ["1", "3"], "numbers": "2"},
        {"plain": "<script>", "grouped": "", "yes_no": "true", "several": ["9"]},
    ],
    ids=["unbound", "chosen", "hostile"],
)
def test_selects_are_written_exactly_as_django_writes_them(data) -> None:
    for ours, django in _both(_Odd(data)):
        assert ours == django


@pytest.mark.django_db
def test_the_filter_forms_render_as_before(alice, bob) -> None:
    for form in (
        CaseFilterForm({"state": "in_transit", "urgency": "4", "owner": str(bob.pk)}),
        RequestFilterForm({"status": "new", "owner": "me"}),
    ):
        form.is_valid()
        for ours, django in _both(form):
            assert ours == django
    assert User.objects.count() >= 2


def test_other_templates_go_to_django() -> None:
    field = _Odd()["plain"]
    group = field.as_field_group()
    assert (
        '<label for="id_plain">' in group
        and '<option value="a">A &amp; &lt;b&gt;</option>' in group
    )


def test_numbers_and_dates_as_labels_are_left_to_django_which_localizes_them(settings) -> None:
    settings.USE_THOUSAND_SEPARATOR = True
    widget = forms.Select(choices=[(1, 12345), (2, dt.date(2026, 12, 6))])
    ours = widget.render("n", 1, renderer=FormRenderer())
    assert ours == widget.render("n", 1, renderer=DjangoTemplates())
    assert "12,345" in ours


def test_a_select_whose_options_use_another_template_goes_to_django() -> None:
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Custom(choices=[("a", "A")])
    ours = widget.render("c", "a", renderer=FormRenderer())
    assert ours == widget.render("c", "a", renderer=DjangoTemplates())

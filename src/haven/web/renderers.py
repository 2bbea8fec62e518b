"""Django's form renderer, with ``<select>`` elements written in Python.

Django renders a select through a template, and each of its options through two more (the
option and its attributes). On the case list, whose filter form has five selects, that was a
quarter to two fifths of the page's time (`benchmarks/caseload.py`, profiled). This renderer
writes the same HTML, character for character (``tests/web/test_renderers.py`` compares them),
and hands every other template, and any select whose options use another template, to Django.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import conditional_escape

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


class FormRenderer(DjangoTemplates):
    """``FORM_RENDERER``: Django's own, selects aside."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        widget = context.get("widget") if template_name == SELECT else None
        if widget is not None and _plain(widget):
            return _select(widget)
        return str(super().render(template_name, context, request))


def _plain(widget: dict[str, Any]) -> bool:
    # Text labels only: a template localizes a number or a date it writes (thousands
    # separators, the language's date format), which Django does better than str().
    return all(
        option.get("template_name") == OPTION and isinstance(option["label"], str | Promise)
        for _name, options, _index in widget["optgroups"]
        for option in options
    )


def _text(value: Any) -> str:
    # As the templates write a variable: str() (a safe string stays safe), then escaped.
    return str(conditional_escape(value if hasattr(value, "__html__") else str(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    # django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name only.
    return "".join(
        f" {_text(name)}" + ("" if value is True else f'="{_text(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


def _select(widget: dict[str, Any]) -> str:
    out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            out.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")  # Django strips what its template renders
    return "".join(out)

"""Filling in the portal's forms the way a browser without JavaScript does."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from django.urls import reverse

RECEIPT = re.compile(r'id="receipt">(\d{4}-\d{4}-\d{4}-\d{4}-\d{4})<')


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return unescape(match.group(1))


def request_form(client: Any, people: int = 1, *, lang: str = "ko") -> dict[str, str]:
    """The fresh form's hidden fields, as a GET of the request page gives them."""
    name = "portal:ask" if lang == "ko" else f"portal:ask-{lang}"
    html = client.get(reverse(name), {"people": people}).content.decode()
    return {"people": hidden(html, "people"), "token": hidden(html, "token")}


def submit(
    client: Any,
    names: list[str],
    *,
    account: str = "We want to leave the restaurant.",
    lang: str = "ko",
    **extra: Any,
) -> Any:
    data: dict[str, Any] = request_form(client, len(names), lang=lang)
    data.update({f"name_{i}": name for i, name in enumerate(names)})
    data.update({"country": "CN", "region": "", "urgency": "3", "account": account, "contact": ""})
    data.update(extra)
    name = "portal:ask" if lang == "ko" else f"portal:ask-{lang}"
    return client.post(reverse(name), data)


def receipt_of(response: Any) -> str:
    match = RECEIPT.search(response.content.decode())
    assert match, "no receipt on the page"
    return match.group(1)


def status_token(client: Any) -> str:
    return hidden(client.get(reverse("portal:status-en")).content.decode(), "token")


def check_status(client: Any, receipt: str, **headers: Any) -> Any:
    return client.post(
        reverse("portal:status-en"),
        {"token": status_token(client), "receipt": receipt},
        headers=headers,
    )

"""What the server's logs may say about a request: that it was refused and why, never by whom.

docs/security.md: no IP address, Host header, request line, user agent or body is logged. Two
sources would otherwise write them: gunicorn, for a request it cannot parse ("Invalid request
from ip=..." with the request line), and Django's ``django.security`` loggers (a Host header not
in ``HAVEN_ALLOWED_HOSTS`` is logged with its value and a traceback). :class:`SuspiciousRequestFilter`
rewrites the latter (settings.LOGGING); :func:`gunicorn_message` the former
(``haven.demo.server.HavenGunicornLogger``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
from typing import Any

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.%\w]*")
ADDRESS = "[address]"


def _address(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text  # a time (12:30:45) or anything else with colons
    return ADDRESS


def scrub_addresses(text: str) -> str:
    """``text`` with every IPv4 and IPv6 address replaced by ``[address]``."""
    return _IPV6.sub(_address, _IPV4.sub(_address, text))


def _format(msg: Any, args: Any) -> str:
    text = str(msg)
    if args:
        with contextlib.suppress(TypeError, ValueError):
            text = text % args
    return text


def _kind(error: str) -> str:
    """What went wrong, without what the request carried: the text before any quote or colon."""
    kind = re.split(r"[:'\"]", error, maxsplit=1)[0].strip()
    return scrub_addresses(kind[:80]) or "malformed"


def gunicorn_message(msg: Any, args: Any) -> str:
    """The message gunicorn would log, without the client's address or what it sent."""
    text = _format(msg, args)
    if text.startswith("Invalid request from ip="):
        error = text.split(": ", 1)[1] if ": " in text else ""
        return (
            f"Refused a malformed request ({_kind(error)}); its sender and content are not logged"
        )
    if text.startswith("Error handling request"):
        return "Error handling a request (its method and path are not logged)"
    return scrub_addresses(text)


class SuspiciousRequestFilter(logging.Filter):
    """For ``django.security.*``: keep that a request was refused and which check refused it;
    drop the message, its arguments and the traceback, which carry what the request sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        check = record.name.removeprefix("django.security").lstrip(".") or "SuspiciousOperation"
        record.msg = "Refused a request (%s); its sender and content are not logged"
        record.args = (check,)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True

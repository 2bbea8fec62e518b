"""Locust users for benchmarks/intake.py (run by it; not a test).

INTAKE_MODE=submit: a requester opens the request form and sends it, as a browser without
JavaScript does (GET, then POST with the form's one-time token); a submission counts as
acknowledged only when the answer shows a receipt. INTAKE_MODE=trivial: the portal's start page,
the same server's ceiling.
"""

from __future__ import annotations

import json
import os
import re
import threading
from html import unescape
from itertools import count
from typing import Any

from locust import FastHttpUser, constant, events, task

RECEIPT = re.compile(r'id="receipt">([\d-]+)<')
TOKEN = re.compile(r'name="token" value="([^"]*)"')
PEOPLE = re.compile(r'name="people" value="([^"]*)"')
MODE = os.environ.get("INTAKE_MODE", "submit")
numbers = count()
# Counted here rather than read from locust's statistics, which stop at the time limit while
# the submissions already on the wire still finish (and are stored).
tally = {"sent": 0, "acknowledged": 0}
tally_lock = threading.Lock()


@events.quitting.add_listener
def _write_tally(**_kwargs: Any) -> None:
    out = os.environ.get("INTAKE_TALLY")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(tally, handle)


class Requester(FastHttpUser):
    wait_time = constant(0)

    @task
    def go(self) -> None:
        if MODE == "trivial":
            self.client.get("/portal/en/", name="trivial page")
            return
        n = next(numbers)
        people = 1 if n % 3 else 2
        with self.client.get(
            f"/portal/en/request/?people={people}", name="request form", catch_response=True
        ) as form:
            token = TOKEN.search(form.text or "")
            hidden_people = PEOPLE.search(form.text or "")
            if not (token and hidden_people):
                form.failure("no form token")
                return
        fields = {
            "token": unescape(token.group(1)),
            "people": unescape(hidden_people.group(1)),
            "country": "CN",
            "region": "Shenyang",
            "urgency": "3",
            "account": "We left the restaurant and are hiding with a friend.",
            "contact": "",
        }
        for i in range(people):
            fields[f"name_{i}"] = f"김 {n}-{i}"
        with tally_lock:
            tally["sent"] += 1
        with self.client.post(
            "/portal/en/request/", data=fields, name="submission", catch_response=True
        ) as answer:
            if answer.status_code != 200 or not RECEIPT.search(answer.text or ""):
                answer.failure(f"not acknowledged ({answer.status_code})")
                return
        with tally_lock:
            tally["acknowledged"] += 1

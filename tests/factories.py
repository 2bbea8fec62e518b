"""Test data: factory_boy for plain records, service calls for anything with a sealed payload."""

from __future__ import annotations

import base64
import time
from typing import Any

import factory

from haven.accounts.models import Role, Team, User
from haven.brokers.models import Broker
from haven.brokers.services import broker_create
from haven.cases.models import Case, Channel, Request
from haven.cases.services import PersonInput, request_create
from haven.crypto import KeyContext
from haven.referrals.models import Partner
from haven.vault.context import COOKIE_NAME, SESSION_KEY, context_for, session_binding
from haven.vault.models import UserKey
from haven.vault.services import user_key_create, user_key_open

PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CASEWORKER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()
            if not UserKey.objects.filter(user=obj).exists():
                user_key_create(user=obj, password=PASSWORD)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Partner agency {n}")
    country = "KR"


class PersonInputFactory(factory.Factory):
    class Meta:
        model = PersonInput

    name_hangul = factory.Iterator(["김선희", "리영호", "박정민", "최은정", "류경애"])
    name_romanized = factory.Iterator(
        ["Kim Sun-hui", "Ri Yong-ho", "Pak Jong-min", "Choe Un-jong", "Ryu Kyong-ae"]
    )
    sex = "female"
    birth_value = "1990"
    birth_precision = "year"
    origin_region = "Sinuiju"
    occupation = "restaurant_worker"


def make_broker(*, ctx: KeyContext, actor: User, alias: str = "Mr Jang", **kwargs: Any) -> Broker:
    return broker_create(ctx=ctx, actor=actor, alias=alias, **kwargs)


def make_request(
    *,
    ctx: KeyContext,
    actor: User,
    people: int = 1,
    channel: str = Channel.DIRECT_LINE,
    broker: Broker | None = None,
    account: str = "We are three workers and want to leave.",
    owner: User | None = None,
    **kwargs: Any,
) -> Request:
    if channel == Channel.BROKER and broker is None:
        broker = make_broker(ctx=ctx, actor=actor)
    return request_create(
        ctx=ctx,
        actor=actor,
        channel=channel,
        broker=broker,
        account=account,
        people=PersonInputFactory.build_batch(people),
        owner=owner,
        **kwargs,
    )


def make_case(*, ctx: KeyContext, actor: User, owner: User | None = None, **kwargs: Any) -> Case:
    request = make_request(ctx=ctx, actor=actor, owner=owner, **kwargs)
    return request.cases.get()


def ctx_for(user: User, password: str = PASSWORD) -> KeyContext:
    """The key context ``user`` gets by logging in."""
    return context_for(user, user_key_open(user=user, password=password))


def login(client: Any, user: User, password: str = PASSWORD) -> None:
    """Log ``client`` in as ``user`` as the two login pages leave them: key unlocked, second
    factor done, password just typed."""
    from haven.accounts.middleware import AUTH_AT, LOGIN_AT, SEEN_AT, TWO_FACTOR

    client.force_login(user)
    blob, secret = user_key_open(user=user, password=password).protect_for_session(
        binding=session_binding(user.pk)
    )
    session = client.session
    session[SESSION_KEY] = base64.b64encode(blob).decode()
    now = time.time()
    session.update({LOGIN_AT: now, SEEN_AT: now, AUTH_AT: now, TWO_FACTOR: True})
    session.save()
    client.cookies[COOKIE_NAME] = secret


def totp_code(user: User) -> str:
    """The current code of ``user``'s authenticator, enrolling one first if needed (tests only:
    replay protection is reset so that a test may log in twice within one 30-second step)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    device.last_t = -1
    device.throttling_failure_count = 0
    device.save()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def login_with_pages(client: Any, user: User, password: str = PASSWORD) -> Any:
    """Log in through the real pages: password, then the authenticator code."""
    client.post("/login/", {"username": user.username, "password": password})
    return client.post("/login/two-factor/", {"code": totp_code(user)})

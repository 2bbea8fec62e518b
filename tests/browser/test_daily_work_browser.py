"""The daily work of issue 18 in Chromium, in Korean and in English: a broker's request for a
group, the group moved to Thailand in one submission, a referral through approval, a portal
request for two people with JavaScript off, intake finding it; and the pages at a phone's width.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from haven.cases.models import Case, Group, JourneyEvent, Person, Request
from haven.referrals.models import Referral, ReferralStatus
from haven.vault.sealed import payload_read
from tests.browser.test_journey_browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD, ctx_for, make_broker, totp_code

LOCALES = {"ko": "ko-KR", "en": "en-GB"}
WORDS = {
    # What staff type, in the page's language: a country by name.
    "ko": {"china": "중국", "thailand": "태국"},
    "en": {"china": "China", "thailand": "Thailand"},
}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the ORM calls here stay
    synchronous and safe. Allowed for this module only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _staff(browser: Browser, base: str, user, lang: str, **options) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale=LOCALES[lang], **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    _submit(page, "button[type=submit].primary")
    page.fill("#id_code", totp_code(user))
    _submit(page, "button[type=submit].primary")
    assert page.locator("html").get_attribute("lang") == lang
    return context, page


def _lines(page: Page, selector: str) -> int:
    """How many lines the text of ``selector`` takes."""
    return int(
        page.evaluate(
            """(selector) => {
                const range = document.createRange();
                range.selectNodeContents(document.querySelector(selector));
                return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
            }""",
            selector,
        )
    )


def _fits_the_phone(page: Page) -> None:
    """Nothing runs off a 390-pixel screen: the page does not scroll sideways (wide tables scroll
    inside their own box), urgency reads on one line."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (page.url, width)
    lines = page.evaluate(
        "Array.from(document.querySelectorAll('.urg, .state, .marker'))"
        ".map(e => e.getClientRects().length)"
    )
    assert all(n == 1 for n in lines), (page.url, lines)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_day_of_work_in_korean_and_english(
    browser: Browser, live_server, alice, bob, dave, partner, lang: str
) -> None:
    base = live_server.url
    words = WORDS[lang]
    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang (Dandong)")

    # 1. A supervisor records a broker's request for a group of three.
    context, page = _staff(browser, base, alice, lang)
    try:
        page.goto(f"{base}/requests/new/")
        page.select_option("#id_channel", "broker")
        page.select_option("#id_broker", str(broker.pk))
        page.select_option("#id_urgency", "3")
        page.fill("#id_country", words["china"])  # a name, not a code: nothing is cut
        page.fill("#id_account", "Three restaurant workers from Yanji ask for help.")
        page.fill("#id_group_label", "Yanji three")
        page.select_option("#id_owner", str(bob.pk))
        page.fill("#id_people_count", "3")
        _submit(page, "button[name=resize]")
        for i, (hangul, year) in enumerate([("김선희", "1975"), ("리영호", ""), ("박순옥", "")]):
            page.fill(f"#id_p{i}-name_hangul", hangul)
            page.fill(f"#id_p{i}-birth_value", year)  # the precision left at "unknown"
        _submit(page, "button[name=save]")
        assert page.locator(".msg.success").count() == 1
        request = Request.objects.get(broker=broker)
        group = Group.objects.get(request=request)
        assert set(Case.objects.filter(request=request).values_list("country", flat=True)) == {"CN"}
        births = [
            payload_read(ctx=ctx_for(alice), record=p)["birth"]
            for p in Person.objects.filter(case__request=request)
        ]
        assert {"value": "1975", "precision": "year"} in births

        # 2. Found by part of its label, the group moves to Thailand in one submission.
        page.goto(f"{base}/search/?q=Yanji")
        _submit(page, f"#found-groups a[href='/groups/{group.pk}/']")
        assert (page.text_content("#group-label") or "").strip() == "Yanji three"
        page.select_option("#id_group_to_state", "in_third_country")
        page.fill("#id_group_country", words["thailand"])
        page.select_option("#id_group_source", "broker")
        _submit(page, "#group-move-form button[type=submit]")
        assert page.locator(".msg.success").count() == 1
        assert set(Case.objects.filter(group=group).values_list("state", "country")) == {
            ("in_third_country", "TH")
        }
        first = Case.objects.filter(group=group).order_by("opened_at", "pk").first()
        assert JourneyEvent.objects.filter(case=first).count() == 6  # every step recorded
        assert page.locator("input[name=case_ids]:checked").count() == 3  # still ticked
    finally:
        context.close()

    # 3. The caseworker refers one member; the supervisor approves and sends it.
    context, page = _staff(browser, base, bob, lang)
    try:
        page.goto(f"{base}/cases/{first.pk}/refer/")
        page.select_option("#id_partner", str(partner.pk))
        page.select_option("#id_purpose", "relief")
        page.check("input[name=disclosed_fields][value=name_hangul]")
        page.check("input[name=disclosed_fields][value=current_country]")
        page.select_option("#id_consent_method", "via_broker")
        page.fill("#id_consent_words", "She agreed, through the broker, to give her name.")
        _submit(page, "form button[type=submit].primary")
        _submit(page, "#submit-referral")
        referral = Referral.objects.get(case=first)
        assert referral.status == ReferralStatus.SUBMITTED
        assert page.locator("#awaiting-approval").count() == 1
    finally:
        context.close()
    context, page = _staff(browser, base, alice, lang)
    try:
        assert page.locator("#awaiting-approval a").count() == 1  # on the dashboard
        _submit(page, "#awaiting-approval a")
        _submit(page, "#approve-referral")
        _submit(page, "#send-referral")
        referral.refresh_from_db()
        assert referral.status == ReferralStatus.SENT
        assert page.locator(".msg.success").count() == 1
    finally:
        context.close()

    # 4. A requester asks for two people with JavaScript off, on a phone.
    portal = browser.new_context(java_script_enabled=False, locale=LOCALES[lang], viewport=PHONE)
    page = portal.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{base}/portal/{'' if lang == 'ko' else 'en/'}request/")
        page.fill("#id_name_0", "김순옥")
        page.fill("#id_account", "We are two and want to leave the restaurant.")
        page.select_option("#id_count", "2")
        _submit(page, "#show")
        assert page.input_value("#id_name_0") == "김순옥"  # kept
        assert page.input_value("#id_account").startswith("We are two")
        page.fill("#id_name_1", "Ri Yong-ho")
        page.select_option("#id_country", "CN")
        page.check("input[name=urgency][value='3']")
        _submit(page, "#send")
        receipt = (page.text_content("#receipt") or "").strip()
        assert len(receipt.replace("-", "")) == 20
        assert _lines(page, "#receipt") == 1  # the 20 digits do not wrap on a phone
        _fits_the_phone(page)
        page.check("#id_saved")
        _submit(page, "#saved")
        _submit(page, "#continue")
        page.fill("#id_receipt", receipt)
        _submit(page, "#check")
        assert "someone else may have your number" not in page.content()
        page.fill("#id_body", "We are in Shenyang now.")
        _submit(page, "#send-message")
        assert portal.cookies() == []
    finally:
        portal.close()

    # 5. Intake finds it: the count, the marked row, part of a name; all fits a phone.
    context, page = _staff(browser, base, dave, lang, viewport=PHONE)
    try:
        count = page.text_content("#nav-notifications .count") or ""
        assert count.strip().isdigit() and int(count) >= 1
        page.goto(f"{base}/requests/?awaiting=on")
        asked = Request.objects.exclude(broker=broker).get()
        assert page.locator(f"#request-{asked.pk} .marker").count() == 1
        _fits_the_phone(page)
        page.goto(f"{base}/search/?q=%EC%88%9C%EC%98%A5")  # 순옥: part of 김순옥 (and 박순옥)
        found = page.locator("#found-people a")
        assert found.count() == 2
        page.goto(f"{base}/cases/")
        _fits_the_phone(page)
        page.goto(f"{base}/cases/{first.pk}/")
        _fits_the_phone(page)
    finally:
        context.close()

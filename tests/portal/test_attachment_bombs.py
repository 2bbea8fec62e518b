"""Decompression bombs and other costly files sent through the portal (issue 17, finding 2):
each kind is refused with a clear message, keeps what the person typed, and stores nothing."""

from __future__ import annotations

import pytest

from haven.attachments.models import Attachment
from haven.cases.models import Case, Request
from haven.portal.models import Receipt
from tests.attachments import samples
from tests.portal.test_attachments import _file, _kept_typed_text, _send

pytestmark = pytest.mark.django_db


def _stored() -> tuple[int, int, int, int]:
    return (
        Request.objects.count(),
        Case.objects.count(),
        Receipt.objects.count(),
        Attachment.objects.count(),
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # The finding: 49 megapixels in a few bytes, five to a request.
        ("bomb.webp", samples.webp_bomb(7000, 7000), "very large for so small a file"),
        ("bomb.png", samples.png_bomb(side=7000), "very large for so small a file"),
        ("bomb.jpg", samples.jpeg_declaring(7000, 7000), "very large for so small a file"),
        ("huge.png", samples.png_bomb(side=30_000), "too large for us"),
        ("huge.webp", samples.webp_bomb(16_000, 16_000), "too large for us"),
        ("scans.jpg", samples.jpeg_many_scans(300), "We could not check"),
    ],
)
def test_a_bomb_is_refused_from_its_header_and_nothing_is_stored(
    client, org, name, content, message, monkeypatch
):
    from haven.attachments import sandbox

    def never(*args, **kwargs):
        raise AssertionError("a bomb reached the decoder")

    monkeypatch.setattr(sandbox, "decode", never)
    response = _send(client, [_file(name, content, "image/webp") for _ in range(5)])
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and name in html
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)


def test_images_too_large_together_are_refused_before_decoding(client, org, settings):
    settings.HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS = 10_000_000
    files = [_file(f"p{i}.webp", samples.webp_bomb(2000, 2000), "image/webp") for i in range(3)]
    response = _send(client, files)
    assert response.status_code == 400
    assert "too large together for one request (at most 10 megapixels" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)


def test_images_within_the_budget_are_taken(client, org, settings):
    settings.HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS = 10_000_000
    files = [_file(f"p{i}.webp", samples.webp_bomb(1500, 1500), "image/webp") for i in range(4)]
    response = _send(client, files)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Attachment.objects.count() == 4


def test_a_decode_over_its_processor_time_is_killed_and_reported(client, org, settings, caplog):
    # Past the header checks (as a file that is heavy but not obviously a bomb would be).
    settings.HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE = 10**9
    settings.HAVEN_ATTACHMENT_DECODE_SECONDS = 1
    response = _send(client, [_file("slow.webp", samples.webp_bomb(7000, 7000), "image/webp")])
    assert response.status_code == 400
    assert "Checking “slow.webp” took too long, so we stopped" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)
    assert "attachment decoder stopped (time)" in caplog.text
    assert "slow.webp" not in caplog.text  # nothing about the file or its sender is logged


def test_a_decode_over_its_memory_is_stopped_and_reported(client, org, settings, caplog):
    settings.HAVEN_ATTACHMENT_DECODE_MEMORY_MB = 48
    response = _send(
        client, [_file("objects.pdf", samples.pdf_object_bomb(150_000), "application/pdf")]
    )
    assert response.status_code == 400
    assert "Checking “objects.pdf” needed more memory than we allow" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)
    assert "memory" in caplog.text


def test_an_image_whose_decoding_would_not_fit_in_memory_is_refused_before_it(
    client, org, settings
):
    settings.HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE = 10**9
    settings.HAVEN_ATTACHMENT_DECODE_MEMORY_MB = 256
    response = _send(client, [_file("big.webp", samples.webp_bomb(7000, 7000), "image/webp")])
    assert response.status_code == 400
    assert "needed more memory than we allow" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


def test_when_every_decoder_is_busy_the_files_are_refused_kindly_at_once(
    client, org, settings, held_decoders
):
    settings.HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS = 0
    response = _send(client, [_file("p.png", samples.png(), "image/png")])
    assert response.status_code == 400
    html = response.content.decode()
    assert "We are checking other people&#x27;s files right now" in html
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)
    # A request without files is not held up by the files of others.
    from tests.portal.helpers import receipt_of, submit

    assert receipt_of(submit(client, ["Kim"], lang="en"))


@pytest.fixture
def held_decoders(settings, tmp_path):
    """Every decoder place and waiting place taken, as by other requests' heavy files."""
    from haven.attachments import sandbox

    settings.HAVEN_ATTACHMENT_DECODE_DIR = str(tmp_path / "decoders")
    decoders, queue = sandbox.places()
    held = [sandbox._try_place("decoder", decoders) for _ in range(decoders)]
    held += [sandbox._try_place("waiting", queue) for _ in range(queue)]
    assert None not in held
    yield
    for fd in held:
        sandbox._release(fd)


def test_a_bomb_is_refused_in_korean_on_the_korean_form(client, org):
    from tests.portal.helpers import submit

    response = submit(
        client,
        ["김선희"],
        account="식당에서 일합니다.",
        attachments=[_file("bomb.webp", samples.webp_bomb(7000, 7000), "image/webp")],
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "파일 크기에 비해 너무 커서 안전하게 열 수 없습니다" in html
    assert "식당에서 일합니다." in html
    assert _stored() == (0, 0, 0, 0)

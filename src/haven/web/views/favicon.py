"""The site icon at ``/favicon.ico``, where every browser asks for it (a 404 otherwise)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

# A small shield in the pages' accent colour: SVG, which every current browser takes as an icon.
ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<path d="M16 2 4 6v9c0 7.5 5.1 13.3 12 15 6.9-1.7 12-7.5 12-15V6z" fill="#1f4e79"/>'
    b'<path d="M10 16h12M16 10v12" stroke="#fff" stroke-width="3" stroke-linecap="round"/>'
    b"</svg>"
)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(ICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=604800"
    return response

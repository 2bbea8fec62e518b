"""The portal's pages in Korean (``/portal/…``) and English (``/portal/en/…``)."""

from django.urls import path

from haven.portal import views

app_name = "portal"

_PAGES = [
    ("", views.home, "home"),
    ("request/", views.ask, "ask"),
    ("receipt/", views.receipt_confirm, "receipt"),
    ("status/", views.status, "status"),
]

urlpatterns = [path(route, view, {"lang": "ko"}, name=name) for route, view, name in _PAGES] + [
    path(f"en/{route}", view, {"lang": "en"}, name=f"{name}-en") for route, view, name in _PAGES
]

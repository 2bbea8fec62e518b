"""The portal's pages, once per language (Korean at ``/portal/…``, see :mod:`.languages`)."""

from django.urls import path

from haven.portal import broker_views, views
from haven.portal.languages import LANGUAGES, url_name

app_name = "portal"

_PAGES = [
    ("", views.home, "home"),
    ("request/", views.ask, "ask"),
    ("receipt/", views.receipt_confirm, "receipt"),
    ("status/", views.status, "status"),
    ("status/message/", views.status_message, "status_message"),
    ("broker/", broker_views.broker_login, "broker_login"),
    ("broker/requests/", broker_views.broker_home, "broker_home"),
    ("broker/request/", broker_views.broker_request_page, "broker_request"),
    ("broker/ask/", broker_views.broker_ask, "broker_ask"),
    ("broker/logout/", broker_views.broker_logout, "broker_logout"),
]

urlpatterns = [
    path(
        f"{language.prefix}{route}",
        view,
        {"lang": language.code},
        name=url_name(name, language.code),
    )
    for language in LANGUAGES
    for route, view, name in _PAGES
]

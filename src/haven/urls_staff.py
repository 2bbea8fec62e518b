"""URLs of a process that serves only the staff side (``HAVEN_SERVE=staff``): the portal runs
elsewhere (``haven portal``), so it is not routed here."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("haven.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("haven.web.urls")),
]

handler400 = "haven.web.views.errors.bad_request"
handler404 = "haven.web.views.errors.not_found"

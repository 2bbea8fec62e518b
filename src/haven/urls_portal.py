"""URLs of a process that serves only the requester portal (``haven portal``).

Nothing of the staff side is routed here, so a host or onion service that fronts this process
exposes the portal and nothing else. The root redirects to the Korean portal.
"""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("portal/", include("haven.portal.urls")),
    path("", RedirectView.as_view(url="/portal/", permanent=False)),
]

handler400 = "haven.portal.errors.bad_request"
handler404 = "haven.portal.errors.not_found"
handler500 = "haven.portal.errors.server_error"

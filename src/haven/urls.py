from django.urls import include, path

urlpatterns = [
    path("api/", include("haven.api.urls")),
    path("portal/", include("haven.portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("haven.web.urls")),
]

# A body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a clear 413 page instead of a bare 400.
handler400 = "haven.web.views.errors.bad_request"
# An /api/ path that matches no route (an id that is not a UUID) answers in JSON, as documented.
handler404 = "haven.web.views.errors.not_found"

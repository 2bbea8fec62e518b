from django.urls import include, path

urlpatterns = [
    path("api/", include("haven.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("haven.web.urls")),
]

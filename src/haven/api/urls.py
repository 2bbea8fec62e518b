from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from haven.api.views import (
    admin,
    attachments,
    auth,
    brokers,
    cases,
    custody,
    dashboard,
    docs,
    duplicates,
    groups,
    partners,
    referrals,
    statements,
    stats,
)
from haven.api.views import messages as messages_views
from haven.api.views import requests as requests_views
from haven.api.views.base import HavenApi

urlpatterns = [
    # Token first, like every other endpoint: a call without credentials is 401, not 403.
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=HavenApi.authentication_classes),
        name="api-schema",
    ),
    path("docs/", docs.api_docs, name="api-docs"),
    path("auth/token/", auth.TokenObtainApi.as_view(), name="api-token"),
    path("dashboard/", dashboard.DashboardApi.as_view(), name="api-dashboard"),
    # requests
    path("requests/", requests_views.RequestListApi.as_view(), name="api-request-list"),
    path(
        "requests/<uuid:pk>/", requests_views.RequestDetailApi.as_view(), name="api-request-detail"
    ),
    path(
        "requests/<uuid:pk>/triage/",
        requests_views.RequestTriageApi.as_view(),
        name="api-request-triage",
    ),
    # a request's files
    path(
        "requests/<uuid:pk>/attachments/",
        attachments.AttachmentListApi.as_view(),
        name="api-request-attachments",
    ),
    path(
        "attachments/<uuid:pk>/download/",
        attachments.AttachmentDownloadApi.as_view(),
        name="api-attachment-download",
    ),
    path(
        "attachments/<uuid:pk>/original/",
        attachments.AttachmentOriginalApi.as_view(),
        name="api-attachment-original",
    ),
    # a request's messages with its requester or broker
    path(
        "requests/<uuid:pk>/messages/",
        messages_views.MessageListApi.as_view(),
        name="api-message-list",
    ),
    path(
        "requests/<uuid:pk>/messages/send/",
        messages_views.MessageSendApi.as_view(),
        name="api-message-send",
    ),
    # cases
    path("cases/", cases.CaseListApi.as_view(), name="api-case-list"),
    path("cases/export/", admin.CaseExportApi.as_view(), name="api-case-export"),
    path("cases/<uuid:pk>/print/", admin.CasePrintApi.as_view(), name="api-case-print"),
    path("audit/export/", admin.AuditExportApi.as_view(), name="api-audit-export"),
    # staff accounts (administrators)
    path("users/", admin.UserListApi.as_view(), name="api-user-list"),
    path("users/<int:pk>/", admin.UserDetailApi.as_view(), name="api-user-detail"),
    path(
        "users/<int:pk>/reset-password/",
        admin.UserPasswordResetApi.as_view(),
        name="api-user-reset-password",
    ),
    # spreadsheet imports (supervisors)
    path("imports/", admin.ImportListApi.as_view(), name="api-import-list"),
    path("imports/<uuid:pk>/", admin.ImportDetailApi.as_view(), name="api-import-detail"),
    path("imports/<uuid:pk>/commit/", admin.ImportCommitApi.as_view(), name="api-import-commit"),
    path("imports/<uuid:pk>/undo/", admin.ImportUndoApi.as_view(), name="api-import-undo"),
    path("cases/<uuid:pk>/", cases.CaseDetailApi.as_view(), name="api-case-detail"),
    path("cases/<uuid:pk>/person/", cases.CasePersonApi.as_view(), name="api-case-person"),
    path(
        "cases/<uuid:pk>/transition/",
        cases.CaseTransitionApi.as_view(),
        name="api-case-transition",
    ),
    path("cases/<uuid:pk>/notes/", cases.CaseNotesApi.as_view(), name="api-case-notes"),
    path(
        "cases/<uuid:pk>/allowed-transitions/",
        cases.CaseAllowedTransitionsApi.as_view(),
        name="api-case-allowed-transitions",
    ),
    path(
        "cases/<uuid:pk>/duplicates/decide/",
        duplicates.DuplicateDecideApi.as_view(),
        name="api-case-duplicate-decide",
    ),
    path(
        "requests/<uuid:pk>/duplicates/",
        duplicates.DuplicateListApi.as_view(),
        name="api-request-duplicates",
    ),
    path("cases/<uuid:pk>/access/", custody.CaseAccessListApi.as_view(), name="api-case-access"),
    path("cases/<uuid:pk>/access/grant/", custody.CaseGrantApi.as_view(), name="api-case-grant"),
    path("cases/<uuid:pk>/access/revoke/", custody.CaseRevokeApi.as_view(), name="api-case-revoke"),
    path("cases/<uuid:pk>/delete/", custody.CaseDeleteApi.as_view(), name="api-case-delete"),
    path(
        "cases/<uuid:pk>/consents/",
        referrals.CaseConsentsApi.as_view(),
        name="api-case-consents",
    ),
    # groups
    path(
        "groups/<uuid:pk>/transition/",
        groups.GroupTransitionApi.as_view(),
        name="api-group-transition",
    ),
    # brokers
    path("brokers/", brokers.BrokerListApi.as_view(), name="api-broker-list"),
    path("brokers/<uuid:pk>/", brokers.BrokerDetailApi.as_view(), name="api-broker-detail"),
    path("brokers/<uuid:pk>/status/", brokers.BrokerStatusApi.as_view(), name="api-broker-status"),
    # partners
    path("partners/", partners.PartnerListApi.as_view(), name="api-partner-list"),
    path("partners/<uuid:pk>/", partners.PartnerDetailApi.as_view(), name="api-partner-detail"),
    # consents and referrals
    path(
        "consents/<uuid:pk>/revoke/",
        referrals.ConsentRevokeApi.as_view(),
        name="api-consent-revoke",
    ),
    path("referrals/", referrals.ReferralListApi.as_view(), name="api-referral-list"),
    path("referrals/<uuid:pk>/", referrals.ReferralDetailApi.as_view(), name="api-referral-detail"),
    path(
        "referrals/<uuid:pk>/consent/",
        referrals.ReferralConsentApi.as_view(),
        name="api-referral-consent",
    ),
    path(
        "referrals/<uuid:pk>/approve/",
        referrals.ReferralApproveApi.as_view(),
        name="api-referral-approve",
    ),
    path(
        "referrals/<uuid:pk>/send/", referrals.ReferralSendApi.as_view(), name="api-referral-send"
    ),
    path(
        "referrals/<uuid:pk>/respond/",
        referrals.ReferralRespondApi.as_view(),
        name="api-referral-respond",
    ),
    path(
        "referrals/<uuid:pk>/withdraw/",
        referrals.ReferralWithdrawApi.as_view(),
        name="api-referral-withdraw",
    ),
    path(
        "referrals/<uuid:pk>/packet/",
        referrals.ReferralPacketApi.as_view(),
        name="api-referral-packet",
    ),
    # statistics
    path("stats/", stats.StatisticsGetApi.as_view(), name="api-stats"),
    path("stats/now/", stats.StatisticsNowApi.as_view(), name="api-stats-now"),
    path("stats/releases/", stats.ReleaseListApi.as_view(), name="api-stats-release-list"),
    path(
        "stats/releases/<uuid:pk>/",
        stats.ReleaseDetailApi.as_view(),
        name="api-stats-release-detail",
    ),
    path(
        "stats/releases/<uuid:pk>/approve/",
        stats.ReleaseApproveApi.as_view(),
        name="api-stats-release-approve",
    ),
    path(
        "stats/releases/<uuid:pk>/discard/",
        stats.ReleaseDiscardApi.as_view(),
        name="api-stats-release-discard",
    ),
    path(
        "stats/releases/<uuid:pk>/export/",
        stats.ReleaseExportApi.as_view(),
        name="api-stats-release-export",
    ),
    # statements, cover records and openings (haven.disclosure)
    path("statements/", statements.StatementListApi.as_view(), name="api-statement-list"),
    path(
        "statements/<uuid:pk>/",
        statements.StatementDetailApi.as_view(),
        name="api-statement-detail",
    ),
    path(
        "statements/<uuid:pk>/submit/",
        statements.StatementSubmitApi.as_view(),
        name="api-statement-submit",
    ),
    path(
        "statements/<uuid:pk>/return/",
        statements.StatementReturnApi.as_view(),
        name="api-statement-return",
    ),
    path(
        "statements/<uuid:pk>/approve/",
        statements.StatementApproveApi.as_view(),
        name="api-statement-approve",
    ),
    path(
        "statements/<uuid:pk>/release/",
        statements.StatementReleaseApi.as_view(),
        name="api-statement-release",
    ),
    path(
        "statements/<uuid:pk>/withdraw/",
        statements.StatementWithdrawApi.as_view(),
        name="api-statement-withdraw",
    ),
    path(
        "statements/<uuid:pk>/text/",
        statements.StatementTextApi.as_view(),
        name="api-statement-text",
    ),
    path("covers/", statements.CoverListApi.as_view(), name="api-cover-list"),
    path("covers/<uuid:pk>/", statements.CoverDetailApi.as_view(), name="api-cover-detail"),
    path("cases/<uuid:pk>/cover/", statements.CaseCoverApi.as_view(), name="api-case-cover"),
    path("groups/<uuid:pk>/cover/", statements.GroupCoverApi.as_view(), name="api-group-cover"),
    path("cases/<uuid:pk>/opening/", statements.CaseOpeningApi.as_view(), name="api-case-opening"),
]

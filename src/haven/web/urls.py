from django.urls import path

from haven.web.views import audit, brokers, cases, common, dashboard, partners, referrals, requests

app_name = "web"
urlpatterns = [
    path("login/", common.LoginView.as_view(), name="login"),
    path("logout/", common.logout_view, name="logout"),
    path("", dashboard.dashboard_view, name="dashboard"),
    path("requests/", requests.request_inbox, name="requests"),
    path("requests/new/", requests.request_new, name="request_new"),
    path("requests/<uuid:request_id>/", requests.request_detail, name="request"),
    path("requests/<uuid:request_id>/triage/", requests.request_triage, name="request_triage"),
    path("cases/", cases.case_list, name="cases"),
    path("cases/<uuid:case_id>/", cases.case_detail, name="case"),
    path("cases/<uuid:case_id>/move/", cases.case_move, name="case_move"),
    path("cases/<uuid:case_id>/notes/", cases.case_note, name="case_note"),
    path("cases/<uuid:case_id>/group-move/", cases.case_group_move, name="case_group_move"),
    path("cases/<uuid:case_id>/edit/", cases.case_edit, name="case_edit"),
    path("cases/<uuid:case_id>/person/", cases.person_edit, name="person_edit"),
    path("cases/<uuid:case_id>/refer/", referrals.referral_new, name="referral_new"),
    path("referrals/", referrals.referral_list, name="referrals"),
    path("referrals/<uuid:referral_id>/", referrals.referral_detail, name="referral"),
    path(
        "referrals/<uuid:referral_id>/<slug:action>/",
        referrals.referral_action,
        name="referral_action",
    ),
    path("brokers/", brokers.broker_list, name="brokers"),
    path("brokers/new/", brokers.broker_new, name="broker_new"),
    path("brokers/<uuid:broker_id>/", brokers.broker_detail, name="broker"),
    path("brokers/<uuid:broker_id>/edit/", brokers.broker_edit, name="broker_edit"),
    path("brokers/<uuid:broker_id>/status/", brokers.broker_status, name="broker_status"),
    path("partners/", partners.partner_list, name="partners"),
    path("partners/new/", partners.partner_new, name="partner_new"),
    path("partners/<uuid:partner_id>/edit/", partners.partner_edit, name="partner_edit"),
    path("audit/", audit.audit_list, name="audit"),
]

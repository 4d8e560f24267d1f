"""Routes of the server-rendered pages."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

urlpatterns = [
    path("", views.competition_list, name="competition-list"),
    path("competitions/", views.competition_list, name="competitions"),
    path("competitions/new/", views.competition_create, name="competition-create"),
    path("competitions/<slug:slug>/", views.competition_detail, name="competition-detail"),
    path("competitions/<slug:slug>/data/", views.competition_data, name="competition-data"),
    path(
        "competitions/<slug:slug>/data/new/", views.data_file_upload, name="data-file-upload"
    ),
    path("competitions/<slug:slug>/rules/", views.competition_rules, name="competition-rules"),
    path(
        "competitions/<slug:slug>/commitments/",
        views.competition_commitments,
        name="competition-commitments",
    ),
    path(
        "competitions/<slug:slug>/leaderboard/",
        views.competition_leaderboard,
        name="competition-leaderboard",
    ),
    path(
        "competitions/<slug:slug>/take-part/",
        views.competition_take_part,
        name="competition-take-part",
    ),
    path("competitions/<slug:slug>/starter.py", views.starter_script, name="starter-script"),
    path("competitions/<slug:slug>/test-set/", views.test_set_upload, name="test-set-upload"),
    path("submissions/", views.my_submissions, name="my-submissions"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/token/", views.api_token, name="api-token-page"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="accounts/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]

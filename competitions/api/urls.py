"""Routes of the REST API (mounted under /api/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("receipt-key/", views.ReceiptKeyView.as_view(), name="api-receipt-key"),
    path("log/", views.LogHeadView.as_view(), name="api-log-head"),
    path("log/inclusion/", views.LogInclusionView.as_view(), name="api-log-inclusion"),
    path("log/consistency/", views.LogConsistencyView.as_view(), name="api-log-consistency"),
    path("log/entries/", views.LogEntriesView.as_view(), name="api-log-entries"),
    path("competitions/", views.CompetitionListView.as_view(), name="api-competitions"),
    path(
        "competitions/<slug:slug>/",
        views.CompetitionDetailView.as_view(),
        name="api-competition",
    ),
    path(
        "competitions/<slug:slug>/test-set/",
        views.TestSetView.as_view(),
        name="api-test-set",
    ),
    path(
        "competitions/<slug:slug>/test-set/data/",
        views.TestSetDataView.as_view(),
        name="api-test-set-data",
    ),
    path(
        "competitions/<slug:slug>/data/",
        views.DataFileListView.as_view(),
        name="api-data-files",
    ),
    path(
        "competitions/<slug:slug>/data/<int:pk>/",
        views.DataFileDownloadView.as_view(),
        name="api-data-file",
    ),
    path(
        "competitions/<slug:slug>/commitments/",
        views.CommitmentListView.as_view(),
        name="api-commitments",
    ),
    path(
        "competitions/<slug:slug>/submissions/",
        views.SubmissionListView.as_view(),
        name="api-submissions",
    ),
    path(
        "competitions/<slug:slug>/leaderboard/",
        views.LeaderboardView.as_view(),
        name="api-leaderboard",
    ),
    path("submissions/<int:pk>/", views.SubmissionDetailView.as_view(), name="api-submission"),
    path(
        "submissions/<int:pk>/proof/",
        views.SubmissionProofView.as_view(),
        name="api-submission-proof",
    ),
]

"""Routes of the server-rendered pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.competition_list, name="competition-list"),
    path("competitions/new/", views.competition_create, name="competition-create"),
    path("competitions/<slug:slug>/", views.competition_detail, name="competition-detail"),
    path("competitions/<slug:slug>/test-set/", views.test_set_upload, name="test-set-upload"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]

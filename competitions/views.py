"""Server-rendered pages: competitions, submissions, organizer forms, sign-up."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_http_methods

from . import login_guard, selectors
from .api.errors import suspicious_request
from .api.throttles import SignupThrottle
from .charts import accuracy_chart
from .forms import CompetitionForm, SignUpForm, TestSetForm
from .services import accounts
from .services import competitions as competition_service
from .services.errors import ErrorCode, NotPermitted, ServiceError, TooManyRequests


def _form_error(form, exc: ServiceError) -> None:
    # A refusal from a service shows on the field it names (or on the whole form).
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def competition_list(request):
    competitions = list(selectors.competitions_visible_to(request.user))
    now = timezone.now()
    rows = [(c, c.phase(now)) for c in competitions]
    return render(request, "competitions/competition_list.html", {"rows": rows})


def competition_detail(request, slug):
    competition = get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)
    now = timezone.now()
    phase = competition.phase(now)
    rows = selectors.leaderboard(competition)
    chart = None
    if competition.has_test_set:
        chart = accuracy_chart(
            selectors.best_accuracy_series(competition),
            num_samples=competition.test_set_num_samples,
            threshold=competition.threshold,
            start=competition.reveal_at,
            end=min(max(now, competition.reveal_at), competition.proof_deadline),
        )
    mine = []
    if request.user.is_authenticated:
        mine = list(
            selectors.submissions_visible_to(request.user)
            .filter(competition=competition, competitor=request.user)
            .order_by("-created_at")[:50]
        )
    context = {
        "competition": competition,
        "phase": phase,
        "revealed": competition.is_revealed(now),
        "rows": rows,
        "chart": chart,
        "my_submissions": mine,
        "is_organizer": request.user.is_authenticated
        and request.user.pk == competition.organizer_id,
        "commitment_count": competition.commitments.count(),
    }
    return render(request, "competitions/competition_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def competition_create(request):
    if not request.user.can_organize():
        raise PermissionDenied("only organizers may create competitions")
    form = CompetitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            competition = competition_service.create_competition(
                organizer=request.user, data=form.to_input()
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Competition created. Upload its test set to open it.")
            return redirect("test-set-upload", slug=competition.slug)
    return render(request, "competitions/competition_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def test_set_upload(request, slug):
    competition = get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)
    if request.user.pk != competition.organizer_id:
        raise PermissionDenied("only the organizer may upload the test set")
    form = TestSetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            competition_service.upload_test_set(
                competition,
                by=request.user,
                upload=form.cleaned_data["file"],
                expected_sha256=form.cleaned_data["sha256"] or None,
            )
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from None
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Test set stored; its salted digest is now public.")
            return redirect("competition-detail", slug=competition.slug)
    return render(
        request, "competitions/test_set_form.html", {"form": form, "competition": competition}
    )


def submission_detail(request, pk):
    submission = get_object_or_404(selectors.submissions_visible_to(request.user), pk=pk)
    commitment = submission.commitment
    context = {
        "submission": submission,
        "competition": submission.competition,
        "commitment": commitment,
        "api_url": request.build_absolute_uri(reverse("api-submission", args=[pk])),
        "proof_url": reverse("api-submission-proof", args=[pk]),
        "key_url": request.build_absolute_uri(reverse("api-receipt-key")),
    }
    return render(request, "competitions/submission_detail.html", context)


class LoginView(auth_views.LoginView):
    """Django's login page, with the API token endpoint's limits (login_guard): too many
    attempts from one address, or failures on one account, and it answers 429 without
    checking the password."""

    def post(self, request, *args, **kwargs):
        try:
            login_guard.check(request, request.POST.get("username", ""))
        except TooManyRequests as exc:
            return _refused(self.render_to_response(
                self.get_context_data(form=self.form_class(request), refusal=exc.message)
            ), exc)  # fmt: skip
        return super().post(request, *args, **kwargs)


def _refused(response, exc: TooManyRequests):
    response.status_code = 429
    if exc.retry_after is not None:
        response["Retry-After"] = str(max(1, int(exc.retry_after)))
    return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("competition-list")
    if request.method == "POST":
        throttle = SignupThrottle()
        if not throttle.allow_request(request, None):
            exc = TooManyRequests(
                "too many accounts were created from your address; try again later",
                retry_after=throttle.wait(),
            )
            page = render(request, "registration/signup.html",
                          {"form": SignUpForm(), "refusal": exc.message})  # fmt: skip
            return _refused(page, exc)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ServiceError as exc:
            field = {"password": "password1"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}.")
            return redirect("competition-list")
    return render(request, "registration/signup.html", {"form": form})


def bad_request(request, exception=None):
    """400 as JSON under /api/ (Django refusing a request before any view ran: a body over
    the form limits, a disallowed host, …), as the usual page elsewhere."""
    if request.path.startswith("/api/"):
        body, status = suspicious_request(exception)
        return JsonResponse(body, status=status)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "permission denied", "code": ErrorCode.PERMISSION_DENIED}, status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    """404 as JSON under /api/ (clients parse it), as the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "not found", "code": ErrorCode.NOT_FOUND}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "server error", "code": ErrorCode.SERVER_ERROR}, status=500)
    return defaults.server_error(request)

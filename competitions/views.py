"""Server-rendered pages: competitions, submissions, organizer forms, sign-up."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from zkproofs.ml.architecture import Architecture

from . import login_guard, selectors
from .api.errors import suspicious_request
from .api.throttles import SignupThrottle
from .charts import accuracy_chart
from .forms import CompetitionForm, DataFileForm, ProfileForm, SignUpForm, TestSetForm
from .models import Phase, Submission
from .services import accounts
from .services import competitions as competition_service
from .services import data_files as data_file_service
from .services.errors import ErrorCode, NotPermitted, ServiceError, TooManyRequests

log = logging.getLogger(__name__)


def _form_error(form, exc: ServiceError) -> None:
    # A refusal from a service shows on the field it names (or on the whole form).
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


PAGE_SIZE = 20
LEADERBOARD_PAGE_SIZE = 50
COMMITMENTS_PAGE_SIZE = 50
OVERVIEW_ROWS = 10


def _page(request, items, per_page: int):
    """One page of ``items`` (a queryset or a list) from ``?page=``; a page number out of
    range shows the last page, anything that is not a number the first."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def competition_list(request):
    now = timezone.now()
    query = (request.GET.get("q") or "").strip()[:100]
    phase = request.GET.get("phase") or ""
    if phase not in Phase.values:
        phase = ""
    page = _page(
        request, selectors.competitions_matching(request.user, query=query, phase=phase, now=now),
        PAGE_SIZE,
    )  # fmt: skip
    rows = [(c, c.phase(now)) for c in page.object_list]
    context = {
        "rows": rows,
        "page": page,
        "query": query,
        "phase": phase,
        "phases": Phase.choices,
        "querystring": urlencode({k: v for k, v in (("q", query), ("phase", phase)) if v}),
    }
    return render(request, "competitions/competition_list.html", context)


def _competition_context(request, slug: str, tab: str) -> dict:
    competition = get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)
    now = timezone.now()
    phase = competition.phase(now)
    is_organizer = (
        request.user.is_authenticated and request.user.pk == competition.organizer_id
    )
    return {
        "competition": competition,
        "phase": phase,
        "now": now,
        "tab": tab,
        "revealed": competition.is_revealed(now),
        "is_organizer": is_organizer,
        "next_event": _next_event(competition, now),
        "install_line": settings.ZKARENA_INSTALL_LINE,
    }


def _next_event(competition, now):
    """(label, time) of the next point on the timeline, or None once closed."""
    if not competition.has_test_set:
        return None
    if now < competition.reveal_at:
        return ("Commitments close and the test set is revealed", competition.reveal_at)
    if now < competition.proof_deadline:
        return ("Proofs close", competition.proof_deadline)
    return None


# Rendered leaderboard tables, per process, valid while the cached board they were made
# from is the current one (selectors.board_token): a popular board is ranked and rendered
# once per change, not once per visitor.
_TABLES: dict[tuple[int, int, int], tuple[object, str]] = {}


def _board_table(competition, *, offset: int, limit: int) -> tuple[str, int]:
    """(the rendered table of ranks offset+1 … offset+limit, how many are ranked)."""
    token = selectors.board_token(competition)
    key = (competition.pk, offset, limit)
    hit = _TABLES.get(key)
    if token is not None and hit is not None and hit[0] is token:
        return hit[1], len(token)
    rows = selectors.leaderboard(competition, offset=offset, limit=limit)
    # "/submissions/0/" → "/submissions/": one reverse() for the whole table.
    prefix = reverse("submission-detail", args=[0]).removesuffix("0/")
    context = {"competition": competition, "rows": rows, "submission_prefix": prefix}
    html = render_to_string("competitions/_leaderboard_table.html", context) if rows else ""
    ranked = len(token) if token is not None else selectors.leaderboard_size(competition)
    if token is not None:
        if len(_TABLES) > 1024:
            _TABLES.clear()
        _TABLES[key] = (token, html)
    return html, ranked


def competition_detail(request, slug):
    context = _competition_context(request, slug, "overview")
    competition = context["competition"]
    now = context["now"]
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
            .defer(*selectors.COMMITMENT_BYTES)
            .order_by("-created_at")[:50]
        )
    table, ranked = _board_table(competition, offset=0, limit=OVERVIEW_ROWS)
    context.update(
        board_table=table,
        shown=min(ranked, OVERVIEW_ROWS),
        ranked=ranked,
        chart=chart,
        my_submissions=mine,
        commitment_count=competition.commitments.count(),
    )
    return render(request, "competitions/competition_detail.html", context)


def competition_data(request, slug):
    context = _competition_context(request, slug, "data")
    context["data_files"] = list(context["competition"].data_files.all())
    context["max_data_file_bytes"] = settings.MAX_DATA_FILE_BYTES
    return render(request, "competitions/competition_data.html", context)


def competition_rules(request, slug):
    context = _competition_context(request, slug, "rules")
    return render(request, "competitions/competition_rules.html", context)


def competition_take_part(request, slug):
    context = _competition_context(request, slug, "take-part")
    context["site_url"] = request.build_absolute_uri("/").rstrip("/")
    context["data_files"] = list(context["competition"].data_files.all())
    return render(request, "competitions/competition_take_part.html", context)


def competition_commitments(request, slug):
    """The competition's commitments (public, like the API's list), with the cost of each
    architecture where ``selectors.may_see_cost`` allows: everywhere for the organizer and
    staff, on their own rows for competitors."""
    context = _competition_context(request, slug, "commitments")
    competition = context["competition"]
    page = _page(request, selectors.commitments_of(competition).order_by("-created_at", "-id"),
                 COMMITMENTS_PAGE_SIZE)  # fmt: skip
    viewer = request.user
    context.update(
        page=page,
        rows=[(c, selectors.may_see_cost(viewer, c)) for c in page.object_list],
        sees_all=context["is_organizer"] or (viewer.is_authenticated and viewer.is_staff),
    )
    return render(request, "competitions/competition_commitments.html", context)


def competition_leaderboard(request, slug):
    context = _competition_context(request, slug, "leaderboard")
    competition = context["competition"]
    total = selectors.leaderboard_size(competition)
    # Only the page of ranks is read and rendered: the Paginator does the arithmetic.
    page = Paginator(range(total), LEADERBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    offset = (page.number - 1) * LEADERBOARD_PAGE_SIZE
    table, _ = _board_table(competition, offset=offset, limit=LEADERBOARD_PAGE_SIZE)
    context.update(page=page, ranked=total, board_table=table)
    username = (request.GET.get("competitor") or "").strip()[:150]
    if username:
        # At most submission_limit rows (≤ 1000) per competitor.
        history = list(selectors.competitor_history(competition, request.user, username)[:1000])
        context.update(history_of=username, history=history)
    return render(request, "competitions/competition_leaderboard.html", context)


def starter_script(request, slug):
    competition = get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)
    text = render_to_string(
        "competitions/starter.py.txt",
        {
            "competition": competition,
            "site_url": request.build_absolute_uri("/").rstrip("/"),
            "data_files": list(competition.data_files.all()),
            "install_line": settings.ZKARENA_INSTALL_LINE,
            "input_size": math.prod(competition.input_shape),
        },
    )
    response = HttpResponse(text, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{competition.slug}_starter.py"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def data_file_upload(request, slug):
    competition = get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)
    if request.user.pk != competition.organizer_id:
        raise PermissionDenied("only the competition's organizer may publish training data")
    form = DataFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data_file_service.upload_data_file(
                competition,
                by=request.user,
                upload=form.cleaned_data["file"],
                name=form.cleaned_data["name"] or None,
                description=form.cleaned_data["description"],
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Data file published.")
            return redirect("competition-data", slug=competition.slug)
    return render(
        request,
        "competitions/data_file_form.html",
        {"form": form, "competition": competition,
         "max_data_file_bytes": settings.MAX_DATA_FILE_BYTES},
    )  # fmt: skip


@login_required
def my_submissions(request):
    """The competitor's dashboard: commitments per competition (slots left), and every
    submission with the commitment it used."""
    now = timezone.now()
    commitments = list(selectors.my_commitments(request.user))
    by_competition: dict[int, dict] = {}
    for record in commitments:
        entry = by_competition.setdefault(
            record.competition_id,
            {"competition": record.competition, "phase": record.competition.phase(now),
             "commitments": []},
        )  # fmt: skip
        entry["commitments"].append(
            {"record": record, "summary": _architecture_summary(record.architecture)}
        )
    submissions = _page(
        request,
        selectors.submissions_visible_to(request.user)
        .filter(competitor=request.user)
        .defer(*selectors.COMMITMENT_BYTES)
        .order_by("-created_at", "-id"),
        PAGE_SIZE,
    )
    counts = dict(
        Submission.objects.filter(competitor=request.user)
        .values_list("competition_id")
        .annotate(n=Count("id"))
    )
    groups = []
    for entry in by_competition.values():
        c = entry["competition"]
        entry["commitments_left"] = max(0, c.commitment_cap - len(entry["commitments"]))
        entry["submissions_left"] = max(0, c.submission_limit - counts.get(c.pk, 0))
        groups.append(entry)
    return render(
        request,
        "competitions/my_submissions.html",
        {"groups": groups, "submissions": submissions, "now": now},
    )


def _architecture_summary(raw) -> str:
    try:
        return Architecture.from_bytes(bytes(raw)).describe()
    except Exception:  # noqa: BLE001 - a summary is a courtesy; the record stays valid
        return "(architecture not readable)"


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "competitions/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Show the account's API token; POST rotates it (the old one stops working at once)."""
    if request.method == "POST":
        accounts.rotate_token(request.user)
        messages.success(request, "A new token was made; the old one no longer works.")
        return redirect("api-token-page")
    token = accounts.token_for(request.user)
    return render(
        request,
        "competitions/api_token.html",
        {"token": token, "site_url": request.build_absolute_uri("/").rstrip("/")},
    )


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
        "site_url": request.build_absolute_uri("/").rstrip("/"),
        "install_line": settings.ZKARENA_INSTALL_LINE,
        "architecture_summary": _architecture_summary(commitment.architecture),
        "log_index": getattr(getattr(commitment, "log_entry", None), "index", None),
        "reveal_index": submission.competition.log_entries.filter(kind="reveal")
        .values_list("index", flat=True).first(),
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


def _error_page(request, status: int, exception=None):
    message = ""
    if exception is not None and status in (403, 404):
        # Our own PermissionDenied/Http404 messages are written for the visitor; Django's
        # resolver's are not (they name URL patterns).
        text = str(exception.args[0]) if exception.args else ""
        if text and not isinstance(text, dict) and status == 403:
            message = text
    match = getattr(request, "resolver_match", None)
    context = {
        "status": status,
        "message": message,
        "path": request.path,
        # A would-be organizer is told how to become one.
        "organizer_needed": bool(match and match.url_name == "competition-create"),
    }
    try:
        body = render_to_string(f"{status}.html", context, request=request)
    except Exception:  # noqa: BLE001 - an error page must render whatever broke
        log.exception("the %s page could not be rendered", status)
        body = f"<h1>Error {status}</h1>"
    return HttpResponse(body, status=status)


def bad_request(request, exception=None):
    """400 as JSON under /api/ (Django refusing a request before any view ran: a body over
    the form limits, a disallowed host, …), as the site's page elsewhere."""
    if request.path.startswith("/api/"):
        body, status = suspicious_request(exception)
        return JsonResponse(body, status=status)
    return _error_page(request, 400, exception)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "permission denied", "code": ErrorCode.PERMISSION_DENIED}, status=403
        )
    return _error_page(request, 403, exception)


def page_not_found(request, exception=None):
    """404 as JSON under /api/ (clients parse it), as the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "not found", "code": ErrorCode.NOT_FOUND}, status=404)
    return _error_page(request, 404, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "server error", "code": ErrorCode.SERVER_ERROR}, status=500)
    # No request context: whatever failed (the database, a context processor) must not
    # fail this page too.
    try:
        body = render_to_string("500.html", {"status": 500})
    except Exception:  # noqa: BLE001
        body = "<h1>Server error</h1><p>Something broke on our side; try again later.</p>"
    return HttpResponse(body, status=500)

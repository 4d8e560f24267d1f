"""Server-rendered pages, sign-up and login, organizer forms, and admin moderation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from competitions.models import Competition, Submission, SubmissionStatus, User
from competitions.services import accounts

from .helpers import (
    CREATED,
    DEADLINE,
    REVEAL,
    SECOND,
    commitment_row,
    csv_bytes,
    sample_arrays,
    stored_files,
    submission_row,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(competition, users):
    commitment = commitment_row(competition, users.competitor, CREATED, "page")
    commitment.save()
    submission = submission_row(
        commitment,
        18,
        SubmissionStatus.VERIFIED,
        created_at=REVEAL + SECOND,
        finished_at=REVEAL + 60 * SECOND,
        verification_log="proof verified: 18 of 20 correct",
    )
    submission.save()
    return submission


def test_competition_list_and_page(client, clock, competition, draft, verified):
    clock.set(REVEAL + 3600 * SECOND)
    listing = client.get("/")
    assert listing.status_code == 200
    assert competition.title.encode() in listing.content
    assert draft.slug.encode() not in listing.content  # drafts are the organizer's only

    page = client.get(reverse("competition-detail", args=[competition.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    assert competition.test_set_digest in text
    assert "Be kind." in text  # the overview (Markdown)
    data = client.get(reverse("competition-data", args=[competition.slug])).content.decode()
    assert competition.test_set_salt in data  # revealed
    assert '<table id="leaderboard">' in text and "alice" in text and "18/20" in text
    assert '<svg class="chart"' in text and "<circle" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing external


def test_salt_is_not_shown_before_the_reveal(client, clock, competition):
    clock.set(REVEAL - SECOND)
    for tab in ("competition-detail", "competition-data", "competition-rules",
                "competition-leaderboard", "competition-take-part"):  # fmt: skip
        text = client.get(reverse(tab, args=[competition.slug])).content.decode()
        assert competition.test_set_salt not in text
    text = client.get(reverse("competition-data", args=[competition.slug])).content.decode()
    assert competition.test_set_digest in text


def test_draft_page_is_the_organizers_only(client, users, draft):
    url = reverse("competition-detail", args=[draft.slug])
    assert client.get(url).status_code == 404
    client.force_login(users.competitor)
    assert client.get(url).status_code == 404
    client.force_login(users.organizer)
    assert client.get(url).status_code == 200


def test_submission_page(client, verified):
    page = client.get(reverse("submission-detail", args=[verified.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert verified.proof_sha256 in text
    assert verified.commitment.commitment_digest in text
    assert "proof verified: 18 of 20 correct" in text
    # The command that re-verifies it, exactly as the CLI takes it.
    assert f"zkarena verify --submission {verified.pk} --url http://testserver</pre>" in text


def test_hidden_submission_page_is_for_owner_and_staff(client, users, verified):
    verified.hidden = True
    verified.save()
    url = reverse("submission-detail", args=[verified.pk])
    assert client.get(url).status_code == 404
    client.force_login(users.other)
    assert client.get(url).status_code == 404
    client.force_login(users.competitor)
    assert "Hidden by a moderator" in client.get(url).content.decode()
    client.force_login(users.staff)
    assert client.get(url).status_code == 200


def test_sign_up_then_log_out_and_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "email": "",
            "password1": "a-long-pass-42",
            "password2": "a-long-pass-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert not user.is_organizer and user.uuid
    assert client.get("/").context["user"] == user
    client.post(reverse("logout"))
    assert not client.get("/").context["user"].is_authenticated
    response = client.post(reverse("login"), {"username": "newbie", "password": "a-long-pass-42"})
    assert response.status_code == 302


def test_sign_up_refuses_weak_password_and_taken_name(client, users):
    weak = client.post(
        reverse("signup"),
        {"username": "weakling", "password1": "123", "password2": "123"},
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    taken = client.post(
        reverse("signup"),
        {"username": "alice", "password1": "a-long-pass-42", "password2": "a-long-pass-42"},
    )
    assert taken.status_code == 200
    assert not User.objects.filter(username="weakling").exists()
    assert User.objects.filter(username="alice").count() == 1


def test_organizer_creates_a_competition_and_uploads_its_test_set(client, clock, users, media_root):
    client.force_login(users.organizer)
    form = {
        "slug": "pages",
        "title": "Made on a page",
        "description": "rules",
        "input_shape": "4",
        "input_min": 0,
        "input_max": 15,
        "input_scale": 1,
        "num_classes": 3,
        "threshold": "3/4",
        "max_parameters": 100,
        "commitment_cap": 2,
        "submission_limit": 3,
        "reveal_at": "2031-03-01 12:00",
        "proof_deadline": "2031-03-08 12:00",
    }
    response = client.post(reverse("competition-create"), form)
    assert response.status_code == 302, response.content.decode()
    competition = Competition.objects.get(slug="pages")
    assert competition.reveal_at == REVEAL and competition.proof_deadline == DEADLINE
    assert competition.organizer == users.organizer

    wide_x, y = sample_arrays(width=5)
    bad = client.post(
        reverse("test-set-upload", args=["pages"]), {"file": upload("t.csv", csv_bytes(wide_x, y))}
    )
    assert bad.status_code == 200 and "features" in bad.content.decode()
    assert stored_files(media_root) == []

    x, y = sample_arrays()
    good = client.post(
        reverse("test-set-upload", args=["pages"]), {"file": upload("t.csv", csv_bytes(x, y))}
    )
    assert good.status_code == 302
    competition.refresh_from_db()
    assert competition.has_test_set and competition.test_set_num_samples == 20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_scale", str(1 << 63)),
        ("threshold", "1/100000000000000000000000"),
        ("threshold", "1e-30"),
        ("max_parameters", str(1 << 64)),
    ],
)
def test_competition_form_bounds_64_bit_values(client, clock, users, field, value):
    client.force_login(users.organizer)
    form = {
        "slug": "pages",
        "title": "Made on a page",
        "input_shape": "4",
        "input_min": 0,
        "input_max": 15,
        "input_scale": 1,
        "num_classes": 3,
        "threshold": "3/4",
        "max_parameters": 100,
        "commitment_cap": 2,
        "submission_limit": 3,
        "reveal_at": "2031-03-01 12:00",
        "proof_deadline": "2031-03-08 12:00",
        field: value,
    }
    response = client.post(reverse("competition-create"), form)
    assert response.status_code == 200  # the form again, with the error on the field
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Competition.objects.exists()


def test_organizer_pages_refuse_others(client, users, draft, competition):
    client.force_login(users.competitor)
    assert client.get(reverse("competition-create")).status_code == 403
    assert client.get(reverse("test-set-upload", args=[competition.slug])).status_code == 403
    client.logout()
    response = client.get(reverse("competition-create"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_admin_hides_a_submission_and_bans_a_user(client, users, verified, competition):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    assert accounts.token_for(users.competitor)
    board = f"/api/competitions/{competition.slug}/leaderboard/"
    assert [r["competitor"] for r in client.get(board).json()["rows"]] == ["alice"]

    response = client.post(
        "/admin/competitions/submission/",
        {"action": "hide", "_selected_action": [verified.pk]},
    )
    assert response.status_code == 302
    verified.refresh_from_db()
    assert verified.hidden
    assert client.get(board).json()["rows"] == []

    Submission.objects.filter(pk=verified.pk).update(hidden=False)
    response = client.post(
        "/admin/competitions/user/",
        {"action": "ban", "_selected_action": [users.competitor.pk]},
    )
    assert response.status_code == 302
    users.competitor.refresh_from_db()
    assert not users.competitor.is_active
    assert not Token.objects.filter(user=users.competitor).exists()
    assert client.get(board).json()["rows"] == []  # banned accounts leave the board


def test_banned_account_can_neither_log_in_nor_use_the_api(client, api, users):
    token_client = api("competitor")
    assert token_client.get("/api/competitions/").status_code == 200
    accounts.set_banned(users.competitor, by=users.staff, banned=True)
    assert token_client.get("/api/competitions/").status_code == 401
    assert not client.login(username="alice", password="pw-alice")
    response = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 400


def test_admin_pages_render_and_freeze_what_proofs_depend_on(client, competition, verified):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    for url in [
        "/admin/competitions/submission/",
        f"/admin/competitions/submission/{verified.pk}/change/",
        "/admin/competitions/user/",
        "/admin/competitions/modelcommitment/",
        f"/admin/competitions/competition/{competition.pk}/change/",
    ]:
        assert client.get(url).status_code == 200, url
    response = client.post(
        f"/admin/competitions/competition/{competition.pk}/change/",
        {
            "slug": "renamed",
            "title": "Renamed",
            "description": "",
            "reveal_at_0": "2040-01-01",
            "reveal_at_1": "00:00:00",
            "num_classes": 9,
        },
    )
    assert response.status_code == 302
    competition_after = Competition.objects.get(pk=competition.pk)
    assert (competition_after.slug, competition_after.title) == ("renamed", "Renamed")
    assert competition_after.reveal_at == competition.reveal_at
    assert competition_after.num_classes == competition.num_classes


def test_admin_hides_the_salt_and_test_set_until_the_reveal(client, clock, users, competition):
    """Staff see the public digest only; the salt and the stored file (whose link would
    lead to the data) appear from reveal_at, as for everyone else."""
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    url = f"/admin/competitions/competition/{competition.pk}/change/"
    clock.set(REVEAL - SECOND)
    page = client.get(url).content.decode()
    assert competition.test_set_digest in page
    assert competition.test_set_salt not in page
    assert competition.test_set_file.name not in page and "Test set file" not in page
    # Saving the wording keeps the hidden fields as they were.
    form = {"slug": competition.slug, "title": "Renamed", "description": "new rules"}
    assert client.post(url, form).status_code == 302
    competition.refresh_from_db()
    assert competition.title == "Renamed" and len(competition.test_set_salt) == 64

    clock.set(REVEAL)
    page = client.get(url).content.decode()
    assert competition.test_set_salt in page and "Test set file" in page


def test_error_pages_use_the_site_layout_and_say_what_to_do(client, users, rf):
    from competitions import views

    page = client.get("/no/such/page/")
    assert page.status_code == 404 and b"Page not found" in page.content
    assert b"list of competitions" in page.content and b'<header>' in page.content
    # A would-be organizer learns how to become one; a stranger is asked to log in first.
    client.force_login(users.competitor)
    page = client.get(reverse("competition-create"))
    assert page.status_code == 403
    assert b"organizer rights" in page.content and b"alice" in page.content
    client.logout()
    assert client.get(reverse("competition-create")).status_code == 302  # to the login page
    # 500 renders without a request context (whatever broke must not break this page).
    response = views.server_error(rf.get("/competitions/x/"))
    assert response.status_code == 500 and b"Something broke on our side" in response.content
    assert views.server_error(rf.get("/api/x/")).status_code == 500  # JSON under /api/
    bad = views.bad_request(rf.get("/competitions/"), None)
    assert bad.status_code == 400 and b"could not be understood" in bad.content

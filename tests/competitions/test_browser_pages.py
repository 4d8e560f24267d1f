"""Every page of the site in Debian's Chromium at 1280 and 390 pixels wide: its content is
there, nothing on it is wider than the window (wide tables scroll inside their box), the
Content-Security-Policy blocks nothing, and nothing is fetched from another host.

Screenshots are written to var/screenshots/ (ignored by git) for people to look at; they
are artefacts of the run, not checked in.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from competitions.models import ModelCommitment, Submission, SubmissionStatus, User
from competitions.services import data_files as data_file_service
from zkproofs.accuracy import proof_cost

from .helpers import commitment_row, submission_row, tiny_architecture, upload
from .test_browser import CHROMIUM, CHROMIUM_ARGS, UNDER_CI

if not CHROMIUM.exists() and not UNDER_CI:
    pytest.skip(
        "Debian chromium is not installed (`make test` installs it)", allow_module_level=True
    )

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDTHS = [1280, 390]
RANKED = 60  # more than one leaderboard page (50)


def _session(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


@pytest.fixture
def site(make_competition, users):
    """A revealed competition with Markdown texts, a data file, 60 ranked competitors (one
    of them Alice, with a long name that must not widen a page), and a draft; sessions for
    Alice and the organizer. Everything is read before Playwright starts (its event loop
    makes Django refuse database access from this thread)."""
    now = timezone.now()
    reveal = now - timedelta(hours=2)
    competition = make_competition(
        created=now - timedelta(days=3), reveal_at=reveal, proof_deadline=now + timedelta(days=5),
        description="## Task\n\nClassify **four-pixel** images.<script>alert(1)</script>",
        rules="1. One account per person.\n2. Be kind.",
        data_description="Inputs are integers 0–15; see [the paper](https://example.org/p).",
        data_licence="CC BY 4.0",
    )  # fmt: skip
    data_file_service.upload_data_file(
        competition, by=users.organizer, upload=upload("train.npz", b"x" * 2048),
        description="1,000 labelled samples",
    )  # fmt: skip
    competitors = [users.competitor] + User.objects.bulk_create(
        [User(username=f"competitor-with-a-rather-long-name-{i:03d}") for i in range(RANKED - 1)]
    )
    rows = []
    for i, user in enumerate(competitors):
        commitment = commitment_row(competition, user, reveal - timedelta(days=1, seconds=-i),
                                    f"page-{i}")  # fmt: skip
        commitment.save()
        done = reveal + timedelta(minutes=i + 1)
        rows.append(submission_row(commitment, 15 + i % 6, SubmissionStatus.VERIFIED,
                                   created_at=done, finished_at=done))  # fmt: skip
    Submission.objects.bulk_create(rows)
    assert ModelCommitment.objects.filter(competition=competition).count() == RANKED
    # Every commitment's cost, as the commit path records it.
    cost = proof_cost(tiny_architecture(), competition.test_set_num_samples)
    ModelCommitment.objects.filter(competition=competition).update(
        **ModelCommitment.cost_fields(cost)
    )
    alice_submission = Submission.objects.get(competitor=users.competitor).pk
    return {
        "slug": competition.slug,
        "title": competition.title,
        "submission": alice_submission,
        "alice": _session(users.competitor),
        "olga": _session(users.organizer),
        "draft": make_competition(with_test_set=False, slug="draft-one").slug,
    }


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One browser context at one width, with an optional session; checks every page."""

    def __init__(self, browser, base: str, width: int, session: str | None):
        self.base, self.width = base, width
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        if session:
            self.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                                       "value": session, "url": base}])  # fmt: skip
        self.page = self.context.new_page()
        self.requested: list[str] = []
        self.violations: list[str] = []
        self.page.on("request", lambda r: self.requested.append(r.url))
        self.page.on("console", lambda m: self.violations.append(m.text)
                     if "Content Security Policy" in m.text or m.type == "error" else None)

    def open(self, path: str, name: str, *, status: int = 200):
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        assert response.status == status, (path, response.status)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.width, f"{path} is {width}px wide at {self.width}px"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.width}.png"), full_page=True)
        return self.page

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).first.inner_text()

    def close(self):
        assert all(url.startswith(self.base) for url in self.requested), self.requested
        # A 4xx page logs its own status as a console error; nothing else may.
        real = [v for v in self.violations if "status of 40" not in v]
        assert real == [], real
        self.context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.django_db(transaction=True)
def test_public_pages(live_server, site, browser, width):
    slug = site["slug"]
    v = Visit(browser, live_server.url, width, None)

    page = v.open("/competitions/", "competitions")
    assert site["title"] in v.text("#competitions")
    assert page.locator("header").bounding_box()["width"] <= width
    page.fill("input[name=q]", "tiny")
    page.select_option("select[name=phase]", "revealed")
    page.click("form.search button")
    page.wait_for_load_state()
    assert "phase=revealed" in page.url and site["title"] in v.text("#competitions")
    v.open("/competitions/?phase=open", "competitions-open")
    assert "No competition matches" in v.text()

    v.open(f"/competitions/{slug}/", "overview")
    assert v.text("nav.tabs").split() == ["Overview", "Data", "Rules", "Commitments",
                                          "Leaderboard", "How", "to", "take", "part"]  # fmt: skip
    assert "1,800 s to prove" in v.text("#budget")
    assert re.match(r"Proofs close in \d days? \d+ h", v.text("#timeline"))
    assert "Classify four-pixel images." in v.text("#overview")
    assert page.locator("#overview script").count() == 0  # sanitized
    assert page.locator("#leaderboard tbody tr").count() == 10  # the top only
    assert "top 10 of 60" in v.text()
    assert page.locator("svg.chart .threshold-label").text_content().startswith("threshold")

    v.open(f"/competitions/{slug}/data/", "data")
    assert "train.npz" in v.text("#data-files") and "2.0 KB" in v.text("#data-files")
    assert v.text("#data-licence") == "CC BY 4.0"
    assert page.locator("#data-description a").get_attribute("rel").startswith("nofollow")
    assert "your model sees x / 1" in v.text()

    v.open(f"/competitions/{slug}/rules/", "rules")
    assert "Be kind." in v.text("#rules") and "What the platform enforces" in v.text()

    v.open(f"/competitions/{slug}/commitments/", "commitments")
    assert "Budget per model: 1,800 s to prove" in v.text("#budget")
    assert page.locator("#commitments tbody tr").count() == 50
    assert "Page 1 of 2" in v.text(".pager")
    assert page.locator("#commitments tbody td[colspan]").count() == 50  # no cost shown

    v.open(f"/competitions/{slug}/leaderboard/", "leaderboard")
    assert page.locator("#leaderboard tbody tr").count() == 50
    assert "Page 1 of 2" in v.text(".pager")
    page.click("a[rel=next]")
    page.wait_for_load_state()
    assert page.locator("#leaderboard tbody tr").count() == 10
    assert page.locator("#leaderboard tbody tr").first.inner_text().split("\t")[0] == "51"
    v.open(f"/competitions/{slug}/leaderboard/?competitor=alice", "leaderboard-history")
    assert "History of alice" in v.text() and "Verified" in v.text("#competitor-history")

    v.open(f"/competitions/{slug}/take-part/", "take-part")
    assert v.text("#install-line") == "pip install zkarena"
    assert f"zkarena audit {slug} --url {live_server.url}" in v.text()
    assert page.locator("#starter-link").get_attribute("href") == f"/competitions/{slug}/starter.py"

    v.open(f"/submissions/{site['submission']}/", "submission")
    assert v.text("#verify-command") == (
        f"zkarena verify --submission {site['submission']} --url {live_server.url}"
    )

    v.open("/api/docs/", "api-docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert "zkarena API" in v.text("body")

    v.open("/no/such/page/", "404", status=404)
    assert "Page not found" in v.text("h1") and "list of competitions" in v.text("#error")
    v.open(f"/competitions/{site['draft']}/", "404-draft", status=404)
    v.open("/submissions/", "login-redirect")  # anonymous: the login page
    assert "Log in" in v.text("h1") and "Reset it" in v.text()
    v.open("/accounts/password/reset/", "password-reset")
    page.fill("input[name=email]", "alice@example.org")
    page.click("main button")
    page.wait_for_load_state()
    assert "Check your e-mail" in v.text("h1")
    v.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.django_db(transaction=True)
def test_competitor_pages(live_server, site, browser, width):
    v = Visit(browser, live_server.url, width, site["alice"])
    page = v.open("/submissions/", "my-submissions")
    group = v.text(".commitment-group")
    assert site["title"] in group and "Dense 4→3" in group or "4" in group
    assert re.search(r"1 of 2 commitment slots left", v.text(".slots"))
    assert f"{site['submission']}" in v.text("#submissions")

    v.open("/accounts/profile/", "profile")
    assert "no — to host a competition, ask the site's staff" in v.text("#organizer-status")
    page.uncheck("input[name=email_notifications]")
    page.click("main form button")
    page.wait_for_load_state()
    assert "Profile saved." in v.text()

    v.open("/accounts/token/", "token")
    old = v.text("#token")
    page.click("main form button")
    page.wait_for_load_state()
    assert v.text("#token") != old and len(v.text("#token")) == 40

    v.open("/accounts/password/change/", "password-change")
    assert page.locator("input[type=password]").count() == 3

    v.open("/competitions/new/", "403-organizer", status=403)
    assert "organizer rights" in v.text("#error") and "alice" in v.text("#error")
    v.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.django_db(transaction=True)
def test_organizer_pages(live_server, site, browser, width):
    v = Visit(browser, live_server.url, width, site["olga"])
    page = v.open("/competitions/new/", "competition-form")
    reveal = page.locator("input[name=reveal_at]")
    assert reveal.get_attribute("type") == "text"  # never the local-time picker
    assert "UTC" in v.text("main") and "round(v × scale)" in v.text("main")
    v.open(f"/competitions/{site['slug']}/data/new/", "data-upload")
    assert page.locator("input[type=file]").count() == 1
    v.open(f"/competitions/{site['slug']}/commitments/", "commitments-organizer")
    assert page.locator("#commitments tbody td[colspan]").count() == 0  # every cost shown
    assert "every committed architecture's cost" in v.text()
    v.open(f"/competitions/{site['slug']}/data/", "data-organizer")
    assert "Publish a data file" in v.text()
    v.close()

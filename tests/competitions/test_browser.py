"""The pages render in a real browser: Debian's Chromium, headless, driven by Playwright
against the live test server. Nothing is downloaded: the browser is the system's."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from competitions.models import ModelCommitment, Submission, SubmissionStatus, User

from .helpers import commitment_row, submission_row

CHROMIUM = Path("/usr/bin/chromium")
UNDER_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

if not CHROMIUM.exists() and not UNDER_CI:
    pytest.skip(
        "Debian chromium is not installed (`make test` installs it)", allow_module_level=True
    )


@pytest.fixture
def board(make_competition, users):
    """A competition revealed two hours ago (the live server runs on the real clock), and
    two competitors with verified proofs at different times (the chart has 2 steps)."""
    now = timezone.now()
    reveal = now - timedelta(hours=2)
    competition = make_competition(
        created=now - timedelta(days=3), reveal_at=reveal, proof_deadline=now + timedelta(days=5)
    )
    rows = []
    for i, (user, count) in enumerate([(users.competitor, 16), (users.other, 19)]):
        commitment = commitment_row(
            competition, user, reveal - timedelta(days=1, seconds=-i), f"browser-{i}"
        )
        commitment.save()
        done = reveal + timedelta(minutes=30 * (i + 1))
        rows.append(
            submission_row(
                commitment, count, SubmissionStatus.VERIFIED, created_at=done, finished_at=done
            )
        )
    created = Submission.objects.bulk_create(rows)
    assert ModelCommitment.objects.count() == 2 and User.objects.count() == 4
    # Everything the test needs from the database is read here: while Playwright runs, its
    # event loop makes Django refuse database access from this thread.
    return competition, created[0].pk


@pytest.fixture
def browser():
    # playwright is a test dependency (pyproject); only its driver is used, never its
    # browser downloads.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.django_db(transaction=True)
def test_competition_and_leaderboard_render_in_chromium(live_server, board, browser, tmp_path):
    board, submission_id = board
    page = browser.new_page()
    # Every request the page makes must go to the test server: no CDN, no fonts, no scripts.
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    # The Content-Security-Policy the site sends must not block anything the pages use.
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    page.goto(f"{live_server.url}/")
    assert page.title() == "Competitions · zkarena"
    assert page.get_by_role("link", name=board.title).is_visible()

    page.get_by_role("link", name=board.title).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(board.title)
    assert "proofs accepted" in page.locator("h1 .badge").inner_text()
    assert page.locator("#test-set-digest").inner_text() == board.test_set_digest
    ranks = page.locator("#leaderboard tbody tr")
    assert ranks.count() == 2
    assert ranks.nth(0).inner_text().split("\t")[:3] == ["1", "bob", "19/20"]
    assert ranks.nth(1).inner_text().split("\t")[:3] == ["2", "alice", "16/20"]
    chart = page.locator("svg.chart")
    assert chart.is_visible()
    assert chart.locator("circle").count() == 2
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100  # laid out, not collapsed

    shot = tmp_path / "competition.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    page.get_by_role("link", name="JSON").click()
    page.wait_for_load_state()
    assert '"competitor":"bob"' in page.content().replace(" ", "")

    page.goto(f"{live_server.url}/submissions/{submission_id}/")
    assert "zkarena verify" in page.locator("body").inner_text()
    assert all(url.startswith(live_server.url) for url in requested), requested
    assert violations == []

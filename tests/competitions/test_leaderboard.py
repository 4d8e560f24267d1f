"""The leaderboard: best verified claim per competitor, ranked by count then the earlier
commitment; JSON and CSV; bounded queries at 10,000 submissions; the accuracy chart."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from competitions import selectors
from competitions.charts import accuracy_chart
from competitions.models import ModelCommitment, Submission, SubmissionStatus, User

from .helpers import CREATED, DEADLINE, NUM_SAMPLES, REVEAL, commitment_row, submission_row

pytestmark = pytest.mark.django_db

V, R, Q = SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED, SubmissionStatus.QUEUED
HOUR = timedelta(hours=1)


@pytest.fixture
def standings(competition, users):
    """Hand-made submissions whose correct ranking is known."""

    def person(name, **flags):
        return User.objects.create_user(name, **flags)

    alice, bob = users.competitor, users.other
    carol, dave, eve = person("carol"), person("dave", is_active=False), person("@evil")
    commits = {}
    for i, (user, offset) in enumerate(
        [(alice, 2), (bob, 1), (carol, 3), (dave, 0), (eve, 4), (alice, 5)]
    ):
        commits[(user.username, i)] = commitment_row(
            competition, user, CREATED + offset * HOUR, f"{user.username}-{i}"
        )
    ModelCommitment.objects.bulk_create(commits.values())
    c = {key[0] + str(key[1]): value for key, value in commits.items()}
    at = REVEAL + HOUR
    Submission.objects.bulk_create(
        [
            submission_row(c["alice0"], 18, V, created_at=at, finished_at=at + 5 * HOUR),
            submission_row(c["alice5"], 16, V, created_at=at, finished_at=at + HOUR),
            submission_row(c["alice0"], 20, R, created_at=at, finished_at=at + HOUR),
            # bob ties alice on 18 with an earlier commitment: bob ranks first.
            submission_row(c["bob1"], 18, V, created_at=at, finished_at=at + 3 * HOUR),
            submission_row(c["carol2"], 19, V, created_at=at, finished_at=at, hidden=True),
            submission_row(c["carol2"], 15, V, created_at=at, finished_at=at + 2 * HOUR),
            submission_row(c["dave3"], 20, V, created_at=at, finished_at=at),  # banned
            submission_row(c["@evil4"], 17, V, created_at=at, finished_at=at + 4 * HOUR),
            submission_row(c["@evil4"], 20, Q, created_at=at),
        ]
    )
    return competition


def test_ranking_rules(standings):
    rows = selectors.leaderboard(standings)
    assert [(r.rank, r.competitor, r.claimed_count) for r in rows] == [
        (1, "bob", 18),
        (2, "alice", 18),
        (3, "@evil", 17),
        (4, "carol", 15),
    ]
    assert rows[0].accuracy_percent == "90.00"
    assert rows[2].accuracy_percent == "85.00"


def test_leaderboard_json_and_csv(api, standings):
    url = f"/api/competitions/{standings.slug}/leaderboard/"
    body = api("anonymous").get(url).json()
    assert body["num_samples"] == NUM_SAMPLES and body["required_correct"] == 15
    assert [r["competitor"] for r in body["rows"]] == ["bob", "alice", "@evil", "carol"]
    assert body["rows"][0]["accuracy"] == "18/20"

    response = api("anonymous").get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == body["columns"]
    assert [row[1] for row in table[1:]] == ["bob", "alice", "'@evil", "carol"]  # no formula
    assert [row[0] for row in table[1:]] == ["1", "2", "3", "4"]


def test_leaderboard_of_10000_submissions_in_bounded_queries(
    api, competition, django_assert_max_num_queries
):
    competitors = User.objects.bulk_create([User(username=f"c{i:04d}") for i in range(1000)])
    commitments = ModelCommitment.objects.bulk_create(
        [
            commitment_row(competition, user, CREATED + timedelta(seconds=i), f"bulk-{i}")
            for i, user in enumerate(competitors)
        ]
    )
    rows = []
    for i, commitment in enumerate(commitments):
        for j in range(10):
            count = 15 + (i * 7 + j * 3) % 6  # claims 15..20, several ties
            status = V if (i + j) % 4 else R
            rows.append(
                submission_row(
                    commitment, count, status, created_at=REVEAL + timedelta(minutes=j),
                    finished_at=REVEAL + timedelta(minutes=j, seconds=i),
                )
            )  # fmt: skip
    Submission.objects.bulk_create(rows, batch_size=2000)
    assert Submission.objects.filter(competition=competition).count() == 10_000

    # The expected board, computed in Python from the same rows.
    best: dict[int, tuple[int, int]] = {}
    for i in range(len(commitments)):
        claims = [s.claimed_count for s in rows[i * 10 : i * 10 + 10] if s.status == V]
        if claims:
            best[i] = (max(claims), i)
    expected = [f"c{i:04d}" for (_, i) in sorted(best.values(), key=lambda t: (-t[0], t[1]))]

    client = api("anonymous")
    url = f"/api/competitions/{competition.slug}/leaderboard/"
    with django_assert_max_num_queries(4):
        response = client.get(url, {"limit": 1000})
    assert response.status_code == 200
    assert response.json()["count"] == len(expected) and response.json()["next"] is None
    assert [r["competitor"] for r in response.json()["rows"]] == expected

    # Pages of 100 by default, ranks continuing across pages, `next` to the following one.
    seen, page = [], client.get(url).json()
    while True:
        assert len(page["rows"]) <= 100
        seen += [(r["rank"], r["competitor"]) for r in page["rows"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert seen == list(enumerate(expected, start=1))


def test_best_accuracy_series_and_chart(standings):
    series = selectors.best_accuracy_series(standings)
    # Improvements only, in verification order (16 at +1h, carol's 15 at +2h is no
    # improvement, 18 at +3h); hidden, banned, rejected and queued claims never count.
    assert [count for _, count in series] == [16, 18]
    svg = accuracy_chart(
        series, num_samples=NUM_SAMPLES, threshold=standings.threshold, start=REVEAL, end=DEADLINE
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<circle") == 2
    assert "16/20 (80.0%)" in svg and "18/20 (90.0%)" in svg and 'class="threshold"' in svg
    empty = accuracy_chart(
        [], num_samples=NUM_SAMPLES, threshold=standings.threshold, start=REVEAL, end=DEADLINE
    )
    assert "No verified proof yet" in empty and "<circle" not in empty


def test_chart_axis_labels_differ_and_the_threshold_is_labelled(standings):
    from competitions.charts import axis_labels

    t = REVEAL
    assert axis_labels(t, t + timedelta(days=2)) == [
        "2031-03-01 12:00 UTC", "2031-03-03 12:00 UTC"
    ]
    # Both ends in one minute: the seconds tell them apart; in one second, one label.
    assert axis_labels(t, t + timedelta(seconds=30)) == [
        "2031-03-01 12:00:00 UTC", "2031-03-01 12:00:30 UTC"
    ]
    assert axis_labels(t, t) == ["2031-03-01 12:00:00 UTC"]
    series = selectors.best_accuracy_series(standings)
    svg = accuracy_chart(series, num_samples=NUM_SAMPLES, threshold=standings.threshold,
                         start=series[0][0], end=series[0][0] + timedelta(seconds=20))  # fmt: skip
    labels = [part.split(">", 1)[1] for part in svg.split("</text>") if 'class="axis"' in part]
    assert len(labels) == len(set(labels)) == 2
    assert 'class="threshold-label">threshold 3/4 (75.0%)</text>' in svg


def test_the_leaderboard_cache_follows_verdicts_and_bans(
    standings, settings, django_assert_max_num_queries
):
    """With the cache on (as deployed), a page reuses the ranked board; a verdict saved by
    the worker, a hidden submission or a ban refreshes it at once."""
    settings.LEADERBOARD_CACHE_SECONDS = 3600
    before = [r.competitor for r in selectors.leaderboard(standings)]
    assert before == ["bob", "alice", "@evil", "carol"]
    with django_assert_max_num_queries(1):  # the version check only (locmem: none)
        assert [r.competitor for r in selectors.leaderboard(standings, offset=1, limit=2)] == [
            "alice", "@evil"
        ]
        assert selectors.leaderboard_size(standings) == 4
        assert selectors.best_accuracy_series(standings)
    # Written around save(): not seen while the cache holds (the documented bound).
    Submission.objects.filter(competitor__username="carol").update(claimed_count=20)
    assert selectors.leaderboard(standings)[0].competitor == "bob"
    # A save (what the worker and moderation do) is seen at once.
    carol = Submission.objects.filter(competitor__username="carol", status=V).first()
    carol.save()
    assert selectors.leaderboard(standings)[0].competitor == "carol"
    bob = User.objects.get(username="bob")
    bob.is_active = False
    bob.save()
    assert "bob" not in [r.competitor for r in selectors.leaderboard(standings)]

"""Read-side queries: what each account may see, the leaderboard and the accuracy series.

Every function here issues a bounded number of queries whatever the number of rows.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import F, Max, Q, QuerySet, RowRange, Window
from django.db.models.functions import RowNumber

from .models import Competition, ModelCommitment, Submission, SubmissionStatus, User

Viewer = User | AnonymousUser
# The large columns of a commitment, left out wherever a listing does not show them.
COMMITMENT_BYTES = (
    "commitment__architecture",
    "commitment__commitment",
    "commitment__knowledge_proof",
)


def competitions_visible_to(viewer: Viewer) -> QuerySet[Competition]:
    """Drafts (no test set yet) are seen by their organizer and staff only."""
    qs = Competition.objects.select_related("organizer")
    if viewer.is_authenticated and viewer.is_staff:
        return qs
    published = ~Q(test_set_digest="")
    if viewer.is_authenticated:
        return qs.filter(published | Q(organizer=viewer))
    return qs.filter(published)


def submissions_visible_to(viewer: Viewer) -> QuerySet[Submission]:
    """Hidden submissions (moderation) are seen by their owner and staff only."""
    qs = Submission.objects.select_related("competition", "competitor", "commitment")
    if viewer.is_authenticated and viewer.is_staff:
        return qs
    if viewer.is_authenticated:
        return qs.filter(Q(hidden=False) | Q(competitor=viewer))
    return qs.filter(hidden=False)


def may_see_cost(viewer: Viewer, commitment: ModelCommitment) -> bool:
    """Who sees what a committed architecture costs to prove: the competition's organizer
    (who set the budget), staff, and the commitment's owner. The architecture itself is not
    public before a proof is submitted, and its cost says something about it. The one rule
    for the API and the pages; weights are never anywhere to be seen."""
    if not viewer.is_authenticated or not viewer.is_active:
        return False
    return (
        viewer.is_staff
        or viewer.pk == commitment.competitor_id
        or viewer.pk == commitment.competition.organizer_id
    )


def commitments_of(competition: Competition) -> QuerySet[ModelCommitment]:
    # The large byte columns are left out of listings.
    return (
        ModelCommitment.objects.filter(competition=competition)
        .select_related("competitor", "competition", "log_entry")
        .defer("architecture", "commitment", "knowledge_proof", "timestamp_token",
               "log_entry__data")
    )


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    submission_id: int
    competitor: str
    competitor_id: str
    claimed_count: int
    num_samples: int
    committed_at: datetime
    commitment_digest: str
    verified_at: datetime | None

    @property
    def accuracy(self) -> Fraction:
        return Fraction(self.claimed_count, self.num_samples)

    @property
    def accuracy_percent(self) -> str:
        """Exact fraction rounded half-up to two decimals, as text (no float)."""
        hundredths = math.floor(self.accuracy * 10000 + Fraction(1, 2))
        return f"{hundredths // 100}.{hundredths % 100:02d}"


def _ranked_submissions(competition: Competition) -> QuerySet[Submission]:
    # One row per competitor: their best verified claim, earlier commitment first on ties
    # (then the earlier submission). The window is evaluated in the database.
    best_first = [F("claimed_count").desc(), F("commitment__created_at").asc(), F("id").asc()]
    return (
        Submission.objects.filter(
            competition=competition,
            status=SubmissionStatus.VERIFIED,
            hidden=False,
            competitor__is_active=True,  # banned accounts leave the leaderboard
        )
        .annotate(best=Window(RowNumber(), partition_by=[F("competitor_id")], order_by=best_first))
        .filter(best=1)
        .order_by(*best_first)
    )


# ------------------------------------------------------------------ the leaderboard cache
#
# Ranking 10,000 competitors is a window over every verified submission: tens of
# milliseconds of database time, on every page view of a popular competition. Each process
# keeps the ranked board (and the accuracy series) in memory for LEADERBOARD_CACHE_SECONDS
# and reuses it while the competition's board version, a counter in the shared cache, is
# unchanged. A verdict, a moderation or a ban bumps the version (competitions.receivers),
# so every process recomputes at once; changes written around the models' save() (bulk
# updates) show within the cache time.

_BOARDS: dict[tuple[int, str], tuple[float, int, list, list]] = {}
_BOARDS_LOCK = threading.Lock()


def _version_key(competition_id: int) -> str:
    return f"zkarena:leaderboard-version:{competition_id}"


def bump_leaderboard(competition_id: int) -> None:
    """The competition's ranking may have changed: every process recomputes it."""
    key = _version_key(competition_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=None)


def _cached_board(competition: Competition) -> tuple[list[LeaderboardRow], list] | None:
    """The board and the series from this process's cache (None when caching is off)."""
    seconds = settings.LEADERBOARD_CACHE_SECONDS
    if seconds <= 0:
        return None
    key = (competition.pk, str(competition.uuid))
    version = cache.get(_version_key(competition.pk), 0)
    entry = _BOARDS.get(key)
    if entry is not None and entry[0] > time.monotonic() and entry[1] == version:
        return entry[2], entry[3]
    # One thread of the process ranks; the others keep serving the board they had, if
    # any (no stampede when it expires under load).
    if not _BOARDS_LOCK.acquire(blocking=entry is None):
        return entry[2], entry[3]
    try:
        entry = _BOARDS.get(key)
        if entry is not None and entry[0] > time.monotonic() and entry[1] == version:
            return entry[2], entry[3]
        rows = _compute_board(competition)
        series = best_accuracy_series_uncached(competition)
        if len(_BOARDS) > 256:  # competitions viewed recently; the rest are recomputed
            _BOARDS.clear()
        _BOARDS[key] = (time.monotonic() + seconds, version, rows, series)
        return rows, series
    finally:
        _BOARDS_LOCK.release()


def board_token(competition: Competition) -> object | None:
    """An object that stays the same while the cached board does (None when caching is
    off): what rendered pieces of the board are cached against (views.py)."""
    cached = _cached_board(competition) if competition.test_set_num_samples else None
    return None if cached is None else cached[0]


def leaderboard_size(competition: Competition) -> int:
    """How many competitors the leaderboard ranks."""
    if not competition.test_set_num_samples:
        return 0
    cached = _cached_board(competition)
    if cached is not None:
        return len(cached[0])
    return (
        Submission.objects.filter(
            competition=competition,
            status=SubmissionStatus.VERIFIED,
            hidden=False,
            competitor__is_active=True,
        )
        .values("competitor_id")
        .distinct()
        .count()
    )


def leaderboard(
    competition: Competition, *, offset: int = 0, limit: int | None = None
) -> list[LeaderboardRow]:
    """The ranked leaderboard, or the page of it from ``offset`` (ranks stay global)."""
    if not competition.test_set_num_samples:
        return []
    cached = _cached_board(competition)
    if cached is not None:
        return cached[0][offset : None if limit is None else offset + limit]
    return _compute_board(competition, offset=offset, limit=limit)


def _compute_board(
    competition: Competition, *, offset: int = 0, limit: int | None = None
) -> list[LeaderboardRow]:
    """The ranked leaderboard (or a page of it) in one query."""
    n = competition.test_set_num_samples
    if not n:
        return []
    ranked = _ranked_submissions(competition)
    if limit is not None:
        ranked = ranked[offset : offset + limit]
    elif offset:
        ranked = ranked[offset:]
    rows = ranked.values_list(
        "id",
        "competitor__username",
        "competitor__uuid",
        "claimed_count",
        "commitment__created_at",
        "commitment__commitment_digest",
        "verification_finished_at",
    )
    return [
        LeaderboardRow(
            rank=rank,
            submission_id=sid,
            competitor=username,
            competitor_id=str(uid),
            claimed_count=count,
            num_samples=n,
            committed_at=committed_at,
            commitment_digest=cdigest,
            verified_at=verified_at,
        )
        for rank, (sid, username, uid, count, committed_at, cdigest, verified_at) in enumerate(
            rows, start=offset + 1
        )
    ]


def competitor_history(competition: Competition, viewer: Viewer, username: str):
    """One competitor's submissions to a competition that ``viewer`` may see, newest first,
    with the commitment each used."""
    return (
        submissions_visible_to(viewer)
        .filter(competition=competition, competitor__username=username)
        .defer(*COMMITMENT_BYTES[1:])
        .order_by("-created_at", "-id")
    )


def competitions_matching(
    viewer: Viewer, *, query: str = "", phase: str = "", now: datetime
) -> QuerySet[Competition]:
    """The competitions list of the pages: a text search over titles, slugs and organizers,
    and a phase filter computed from the timeline."""
    qs = competitions_visible_to(viewer)
    if query:
        qs = qs.filter(
            Q(title__icontains=query)
            | Q(slug__icontains=query)
            | Q(organizer__username__iexact=query)
        )
    published = ~Q(test_set_digest="")
    phases = {
        "draft": Q(test_set_digest=""),
        "open": published & Q(reveal_at__gt=now),
        "revealed": published & Q(reveal_at__lte=now, proof_deadline__gt=now),
        "closed": published & Q(proof_deadline__lte=now),
    }
    if phase in phases:
        qs = qs.filter(phases[phase])
    return qs


def my_commitments(user: User) -> QuerySet[ModelCommitment]:
    """The account's commitments, newest first, with their competitions (the architecture
    bytes are kept: the page summarises each architecture)."""
    return (
        ModelCommitment.objects.filter(competitor=user)
        .select_related("competition")
        .defer("commitment", "knowledge_proof")
        .order_by("-created_at", "-id")
    )


def best_accuracy_series(competition: Competition) -> list[tuple[datetime, int]]:
    """The series of :func:`best_accuracy_series_uncached`, from the leaderboard cache."""
    cached = _cached_board(competition) if competition.test_set_num_samples else None
    if cached is None:
        return best_accuracy_series_uncached(competition)
    return cached[1]


def best_accuracy_series_uncached(competition: Competition) -> list[tuple[datetime, int]]:
    """(time, best verified count so far), one point each time the best improved.

    Time is when the verification finished (when the claim became proven). The database
    keeps only the improvements (a running maximum over the earlier rows), so a page
    reads a handful of rows however many proofs were verified.
    """
    order = [F("verification_finished_at").asc(), F("id").asc()]
    rows = (
        Submission.objects.filter(
            competition=competition,
            status=SubmissionStatus.VERIFIED,
            hidden=False,
            competitor__is_active=True,
            verification_finished_at__isnull=False,
        )
        .annotate(
            best_before=Window(Max("claimed_count"), order_by=order, frame=RowRange(end=-1))
        )
        .filter(Q(best_before__isnull=True) | Q(claimed_count__gt=F("best_before")))
        .order_by(*order)
        .values_list("verification_finished_at", "claimed_count")
    )
    return list(rows)

"""Competitions, commitments, submissions and the accounts they belong to.

Only the services in competitions/services/ write these tables; views and the admin call
them. Invariants that must hold whatever code writes a row are database constraints, not
only Python checks.

Identifiers that enter a proof statement (DESIGN §3) are immutable UUIDs: ``User.uuid`` and
``Competition.uuid``. Slugs and usernames are for people and URLs only.
"""

from __future__ import annotations

import math
import unicodedata
import uuid
from datetime import datetime
from fractions import Fraction

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils import timezone

from zkproofs.competition import DEFAULT_BUDGET, Budget, CompetitionSpec

DIGEST_HEX_LENGTH = 64  # SHA-256, hex

# `field__length` lookups in the check constraints below (digest and salt lengths).
models.CharField.register_lookup(Length)


# Look-alike characters and sequences among the characters a username may hold (ASCII
# letters, digits, @ . + - _), after case folding: from Unicode's confusables (TR39) for
# ASCII, plus i/l, which many fonts draw alike once "I" is folded to "i".
_CONFUSABLE_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_CONFUSABLE_CHARACTERS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l"})


def username_key(name: str) -> str:
    """What a username looks like, up to case and look-alike characters: two accounts
    whose names share this key would be told apart by nobody reading a leaderboard, so
    it is unique (``User.username_key``). NFKC first, so that compatibility forms (ｆｕｌｌ
    width, ligatures) fold to the letters they show."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(_CONFUSABLE_CHARACTERS)
    for sequence, looks_like in _CONFUSABLE_SEQUENCES:
        text = text.replace(sequence, looks_like)
    return text


class User(AbstractUser):
    """An account. ``uuid`` is the submitter id every commitment and proof is bound to.

    Usernames are ASCII (letters, digits, @ . + - _): a name in another script can look
    exactly like a Latin one ("аlice" with a Cyrillic а). ``username_key`` makes names
    that differ only by case or look-alike characters collide (a unique column); it is
    null only for accounts older than the rule whose key an earlier account already had.
    """

    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="150 characters or fewer: ASCII letters, digits and @ . + - _ only.",
        validators=[ASCIIUsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )
    username_key = models.CharField(max_length=150, unique=True, null=True, editable=False)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Hosting a competition is granted by staff (moderation); competing needs nothing.
    is_organizer = models.BooleanField(
        default=False,
        help_text="May create competitions and upload their test sets.",
    )
    # E-mail on timeline events (reveal, proof deadline) and verdicts; the profile page
    # turns it off.
    email_notifications = models.BooleanField(
        default=True,
        help_text="E-mail me when a competition I committed to reveals its test set or "
        "nears its proof deadline, and when one of my submissions is verified or rejected.",
    )

    def can_organize(self) -> bool:
        return self.is_active and (self.is_organizer or self.is_staff)

    def clean(self) -> None:
        super().clean()
        key = username_key(self.username)
        if User.objects.filter(username_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"username": CONFUSABLE_MESSAGE})

    def save(self, *args, **kwargs) -> None:
        key = username_key(self.username)
        legacy_clash = (
            self.pk is not None
            and self.username_key is None
            and User.objects.filter(username_key=key).exclude(pk=self.pk).exists()
        )
        if not legacy_clash:  # a new clash is refused by the unique index
            self.username_key = key
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)


CONFUSABLE_MESSAGE = (
    "This username is too close to an existing one (it differs only by case or by "
    "look-alike characters); choose another."
)


class Phase(models.TextChoices):
    DRAFT = "draft", "Draft"  # no test set yet: nothing is accepted
    OPEN = "open", "Open for commitments"
    REVEALED = "revealed", "Test set revealed: proofs accepted"
    CLOSED = "closed", "Closed"


class Competition(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    # Markdown, rendered sanitized (competitions/markdown.py).
    description = models.TextField(blank=True, help_text="Overview, in Markdown.")
    rules = models.TextField(blank=True, help_text="Rules and prizes, in Markdown.")
    data_description = models.TextField(
        blank=True, help_text="What the training data and the test set hold, in Markdown."
    )
    data_licence = models.CharField(
        max_length=200, blank=True, help_text="The licence of the training data, e.g. CC BY 4.0."
    )
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organized_competitions"
    )

    # What a sample looks like: integers of this shape within [input_min, input_max]; a real
    # value v is published as round(v · input_scale).
    input_shape = models.JSONField(help_text="Per-sample shape, e.g. [64] or [1, 28, 28].")
    input_min = models.BigIntegerField()
    input_max = models.BigIntegerField()
    input_scale = models.PositiveBigIntegerField()
    num_classes = models.PositiveIntegerField()

    # The acceptance threshold as an exact fraction: a claim c is accepted only if
    # c ≥ ⌈threshold · N⌉. Never a float.
    threshold_numerator = models.PositiveBigIntegerField()
    threshold_denominator = models.PositiveBigIntegerField()

    # Model-size limits, checked on the public architecture at commit time.
    max_parameters = models.PositiveIntegerField(help_text="Weights and biases, in total.")
    max_layers = models.PositiveIntegerField(null=True, blank=True)

    # Per-competitor limits: few commitments (choosing the best of many after the reveal
    # inflates scores, DESIGN §1) and a bounded number of proofs.
    commitment_cap = models.PositiveIntegerField(default=3)
    submission_limit = models.PositiveIntegerField(default=5)

    # The budget (zkproofs.competition.Budget): the most a committed architecture may cost
    # at this competition's N, estimated from its proof schedule when it is committed
    # (zkproofs.layered.cost). Out of the spec's digest, like the threshold.
    max_prove_seconds = models.PositiveIntegerField(
        default=DEFAULT_BUDGET.prove_seconds,
        help_text="Estimated seconds to prove on the reference machine.",
    )
    max_verify_seconds = models.PositiveIntegerField(
        default=DEFAULT_BUDGET.verify_seconds,
        help_text="Estimated seconds to verify on the reference machine.",
    )
    max_proof_bytes = models.PositiveBigIntegerField(
        default=DEFAULT_BUDGET.proof_bytes, help_text="The proof's exact size, in bytes."
    )

    reveal_at = models.DateTimeField(help_text="Commitments close; the test set is revealed.")
    proof_deadline = models.DateTimeField(help_text="Proofs close; the leaderboard is final.")

    # The test set: its salted digest is public from the start, the salt and the data only
    # from reveal_at. The stored file is the canonical .npz (int64 x and y).
    test_set_file = models.FileField(upload_to="test-sets/", blank=True, max_length=255)
    test_set_digest = models.CharField(max_length=DIGEST_HEX_LENGTH, blank=True)
    test_set_salt = models.CharField(max_length=DIGEST_HEX_LENGTH, blank=True)
    test_set_num_samples = models.PositiveIntegerField(null=True, blank=True)
    test_set_uploaded_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # The RFC 3161 timestamp authorities whose tokens commitments must carry
    # ([{name, url, certificate}], zkproofs.timestamps); empty: no independent timestamps,
    # the commit time is the site's word (and the log's order). Fixed at creation.
    timestamp_authorities = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(num_classes__gte=2), name="competition_classes"),
            models.CheckConstraint(condition=Q(input_scale__gte=1), name="competition_scale"),
            models.CheckConstraint(
                condition=Q(input_min__lte=F("input_max")), name="competition_input_range"
            ),
            models.CheckConstraint(
                condition=Q(threshold_numerator__gte=1)
                & Q(threshold_numerator__lte=F("threshold_denominator")),
                name="competition_threshold_in_0_1",
            ),
            models.CheckConstraint(
                condition=Q(max_parameters__gte=1), name="competition_max_parameters"
            ),
            models.CheckConstraint(
                condition=Q(max_layers__isnull=True) | Q(max_layers__gte=1),
                name="competition_max_layers",
            ),
            models.CheckConstraint(
                condition=Q(commitment_cap__gte=1) & Q(submission_limit__gte=1),
                name="competition_per_competitor_limits",
            ),
            models.CheckConstraint(
                condition=Q(max_prove_seconds__gte=1)
                & Q(max_verify_seconds__gte=1)
                & Q(max_proof_bytes__gte=1),
                name="competition_budget",
            ),
            models.CheckConstraint(
                condition=Q(proof_deadline__gt=F("reveal_at")), name="competition_timeline"
            ),
            # The test-set fields are all empty (draft) or all set, with full-length digests.
            models.CheckConstraint(
                condition=(
                    Q(test_set_file="", test_set_digest="", test_set_salt="")
                    & Q(test_set_num_samples__isnull=True, test_set_uploaded_at__isnull=True)
                )
                | (
                    ~Q(test_set_file="")
                    & Q(test_set_digest__length=DIGEST_HEX_LENGTH)
                    & Q(test_set_salt__length=DIGEST_HEX_LENGTH)
                    & Q(test_set_num_samples__gte=1, test_set_uploaded_at__isnull=False)
                ),
                name="competition_test_set_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # ------------------------------------------------------------------ derived values

    @property
    def threshold(self) -> Fraction:
        return Fraction(self.threshold_numerator, self.threshold_denominator)

    @property
    def input_range(self) -> tuple[int, int]:
        return (self.input_min, self.input_max)

    @property
    def has_test_set(self) -> bool:
        return bool(self.test_set_digest)

    @property
    def required_correct(self) -> int | None:
        """⌈threshold · N⌉ in exact arithmetic, once N is known."""
        if self.test_set_num_samples is None:
            return None
        return math.ceil(self.threshold * self.test_set_num_samples)

    @property
    def budget(self) -> Budget:
        return Budget(self.max_prove_seconds, self.max_verify_seconds, self.max_proof_bytes)

    def phase(self, now: datetime | None = None) -> Phase:
        """Where the timeline stands at ``now``; each boundary belongs to the later phase."""
        now = now or timezone.now()
        if not self.has_test_set:
            return Phase.DRAFT
        if now < self.reveal_at:
            return Phase.OPEN
        if now < self.proof_deadline:
            return Phase.REVEALED
        return Phase.CLOSED

    def is_revealed(self, now: datetime | None = None) -> bool:
        return self.has_test_set and (now or timezone.now()) >= self.reveal_at

    def authorities(self):
        """The listed timestamp authorities (zkproofs.timestamps.Authority)."""
        from zkproofs.timestamps import authorities_from_list

        return authorities_from_list(self.timestamp_authorities or [])

    def spec(self) -> CompetitionSpec:
        """The public description proofs are bound to (needs the test set)."""
        if not self.has_test_set:
            raise ValueError("a competition without a test set has no spec yet")
        return CompetitionSpec(
            competition_id=self.uuid,
            test_set_digest=bytes.fromhex(self.test_set_digest),
            num_samples=self.test_set_num_samples,
            num_classes=self.num_classes,
            input_shape=tuple(self.input_shape),
            input_scale=self.input_scale,
            threshold=self.threshold,
            input_range=self.input_range,
            budget=self.budget,
        )


class Participation(models.Model):
    """One competitor in one competition.

    Its row is the lock that serialises a competitor's commitments and submissions
    (SELECT … FOR UPDATE), so per-competitor limits hold under concurrent requests.
    """

    competition = models.ForeignKey(
        Competition, on_delete=models.CASCADE, related_name="participations"
    )
    competitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["competition", "competitor"], name="participation_unique"
            ),
        ]


class ModelCommitment(models.Model):
    """A commitment C_W to hidden weights, registered before the reveal.

    The architecture is stored here, frozen: verification takes it from this record, never
    from a submission (DESIGN §3).
    """

    competition = models.ForeignKey(
        Competition, on_delete=models.PROTECT, related_name="commitments"
    )
    competitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commitments"
    )
    architecture = models.BinaryField(help_text="Canonical architecture encoding (public).")
    architecture_digest = models.CharField(max_length=DIGEST_HEX_LENGTH)
    parameter_count = models.PositiveIntegerField()
    weight_rows = models.PositiveIntegerField()
    commitment = models.BinaryField(help_text="Canonical bytes of C_W.")
    # SHA-256 of the canonical commitment bytes: the platform-wide uniqueness key (a
    # unique index on the bytes themselves would exceed PostgreSQL's index-row limit for
    # large models).
    commitment_digest = models.CharField(max_length=DIGEST_HEX_LENGTH, unique=True)
    knowledge_proof = models.BinaryField()
    created_at = models.DateTimeField()
    # The server's receipt over (competition, competitor, architecture digest, commitment
    # digest, created_at), and the public key that checks it (kept per row, so receipts
    # stay checkable after a key rotation).
    receipt_signature = models.BinaryField()
    receipt_public_key = models.CharField(max_length=96)
    # The RFC 3161 timestamp response the competitor obtained (zkproofs.timestamps), checked
    # when registered; empty when the competition lists no authority.
    timestamp_token = models.BinaryField(blank=True, default=b"")
    timestamp_authority = models.CharField(max_length=100, blank=True)
    timestamped_at = models.DateTimeField(null=True, blank=True)
    # What proving this architecture at the competition's N costs, counted from its proof
    # schedule when it was committed (zkproofs.layered.cost): estimated seconds and
    # megabytes on the reference machine, the proof's exact size. Null only for
    # commitments registered before costs were recorded that the migration could not cost.
    cost_prove_seconds = models.FloatField(null=True, blank=True)
    cost_prove_megabytes = models.FloatField(null=True, blank=True)
    cost_verify_seconds = models.FloatField(null=True, blank=True)
    cost_proof_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["competition", "competitor"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(architecture_digest__length=DIGEST_HEX_LENGTH)
                & Q(commitment_digest__length=DIGEST_HEX_LENGTH),
                name="commitment_digest_lengths",
            ),
            models.CheckConstraint(
                condition=Q(parameter_count__gte=1) & Q(weight_rows__gte=1),
                name="commitment_sizes",
            ),
            # The cost is recorded whole or not at all.
            models.CheckConstraint(
                condition=Q(
                    cost_prove_seconds__isnull=True,
                    cost_prove_megabytes__isnull=True,
                    cost_verify_seconds__isnull=True,
                    cost_proof_bytes__isnull=True,
                )
                | Q(
                    cost_prove_seconds__gte=0,
                    cost_prove_megabytes__gte=0,
                    cost_verify_seconds__gte=0,
                    cost_proof_bytes__gte=1,
                ),
                name="commitment_cost_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"commitment {self.commitment_digest[:12]}… by {self.competitor_id}"

    @property
    def cost(self) -> dict | None:
        """The recorded cost (None if it was never recorded). Who may see it is decided by
        ``selectors.may_see_cost``."""
        if self.cost_proof_bytes is None:
            return None
        return {
            "prove_seconds": self.cost_prove_seconds,
            "prove_megabytes": self.cost_prove_megabytes,
            "verify_seconds": self.cost_verify_seconds,
            "proof_bytes": self.cost_proof_bytes,
        }

    @staticmethod
    def cost_fields(cost) -> dict:
        """The columns that keep a ``zkproofs.layered.cost.Cost``: the estimates unrounded,
        as the budget was checked against them, and the proof's exact size."""
        return {
            "cost_prove_seconds": float(cost.prove_seconds),
            "cost_prove_megabytes": float(cost.prove_megabytes),
            "cost_verify_seconds": float(cost.verify_seconds),
            "cost_proof_bytes": int(cost.proof_bytes),
        }


class DataFile(models.Model):
    """A training-data file (or a baseline, a sample submission) the organizer publishes.

    Public as soon as its competition is (a draft's files only to its organizer and staff);
    downloads go through a view, like every stored file.
    """

    competition = models.ForeignKey(
        Competition, on_delete=models.CASCADE, related_name="data_files"
    )
    name = models.CharField(max_length=255, help_text="The file name people download.")
    description = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to="data/", max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=DIGEST_HEX_LENGTH)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["competition", "name"], name="data_file_unique_name"),
            models.CheckConstraint(
                condition=Q(sha256__length=DIGEST_HEX_LENGTH), name="data_file_digest"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    VERIFYING = "verifying", "Verifying"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"
    # The platform could not finish verifying it (lost workers, database, broker, storage,
    # time limits) within VERIFIER_INFRA_BUDGET tries: parked for staff, who re-queue it
    # (admin action or `manage.py verifier_requeue`). Never a verdict on the proof.
    ERROR = "error", "Delayed by the platform"


class Submission(models.Model):
    """A proof that the committed model gets ``claimed_count`` test samples right.

    Created ``queued``; the verifier app moves it to ``verifying`` and then ``verified`` or
    ``rejected`` (see competitions.signals.submission_queued), or to ``error`` when the
    platform itself kept failing (staff re-queue it; the competitor reads "delayed").
    """

    competition = models.ForeignKey(
        Competition, on_delete=models.PROTECT, related_name="submissions"
    )
    competitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    commitment = models.ForeignKey(
        ModelCommitment, on_delete=models.PROTECT, related_name="submissions"
    )
    claimed_count = models.PositiveIntegerField()
    proof = models.FileField(upload_to="proofs/", max_length=255)
    proof_sha256 = models.CharField(max_length=DIGEST_HEX_LENGTH)
    proof_size = models.PositiveBigIntegerField()

    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED
    )
    verification_log = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    verification_started_at = models.DateTimeField(null=True, blank=True)
    verification_finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the verifier app (verifier/services.py): the count the proof established,
    # how long the last attempt took, which worker ran it (Celery hostname), the Celery task
    # that holds the ``verifying`` claim, and the last unexpected error (for the sweep's
    # "gave up" reason).
    proven_count = models.PositiveIntegerField(null=True, blank=True)
    verification_seconds = models.FloatField(null=True, blank=True)
    verification_worker = models.CharField(max_length=255, blank=True)
    verification_task_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    # Fault handling (verifier/services.py): tries that ended without a verdict because of
    # the platform (kept apart from ``attempts``: they never reject), the lease the
    # verifying worker renews while it works (expired: the worker is dead), and the token
    # and due time of the one message that should deliver this submission (re-sends replace
    # it, so a superseded message is a no-op, and nothing is sent twice while queued).
    infra_failures = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatch_token = models.CharField(max_length=64, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    # Moderation: a hidden submission leaves the leaderboard and public pages.
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["competition", "status", "hidden"]),
            models.Index(fields=["competition", "competitor"]),
            # The verifier's sweep and health queries: unfinished submissions by age.
            models.Index(fields=["status", "updated_at"]),
            # The sweep's "has the queue moved past this message?" (latest started dispatch).
            models.Index(fields=["dispatched_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SubmissionStatus.values), name="submission_status"
            ),
            models.CheckConstraint(
                condition=Q(proof_sha256__length=DIGEST_HEX_LENGTH), name="submission_proof_digest"
            ),
            models.CheckConstraint(condition=Q(proof_size__gte=1), name="submission_proof_size"),
            # The same proof twice for one commitment is a duplicate, not a new attempt.
            models.UniqueConstraint(
                fields=["commitment", "proof_sha256"], name="submission_unique_proof"
            ),
        ]

    def __str__(self) -> str:
        return f"submission {self.pk} ({self.status}, c={self.claimed_count})"


class Notification(models.Model):
    """An e-mail sent (or decided against) once per event and account: ``key`` names the
    event ("reveal:<competition>:<user>", "deadline:…", "verdict:<submission>"), and its
    unique index makes sending idempotent whichever process notices the event first."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key


# --------------------------------------------------------------------- the commitment log


class LogEntryKind(models.TextChoices):
    COMMITMENT = "commitment", "Commitment"
    REVEAL = "reveal", "Reveal"


class LogState(models.Model):
    """The append-only log's current size and frontier (the right edge of its Merkle tree,
    zkproofs.merkle): one row, locked (SELECT … FOR UPDATE) by every append, which orders
    all appends site-wide."""

    size = models.PositiveBigIntegerField(default=0)
    frontier = models.BinaryField(default=b"")


class LogEntry(models.Model):
    """Entry ``index`` of the log: the canonical bytes of a zkproofs.commitlog entry."""

    index = models.PositiveBigIntegerField(unique=True)
    kind = models.CharField(max_length=16, choices=LogEntryKind.choices)
    data = models.BinaryField()
    competition = models.ForeignKey(
        Competition, on_delete=models.PROTECT, related_name="log_entries"
    )
    commitment = models.OneToOneField(
        ModelCommitment, null=True, blank=True, on_delete=models.PROTECT, related_name="log_entry"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(
                fields=["competition"], condition=Q(kind="reveal"), name="log_one_reveal"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=LogEntryKind.values), name="log_entry_kind"
            ),
        ]


class LogNode(models.Model):
    """The hash of a perfect subtree of the log: 2^level leaves from position · 2^level
    (level 0: the leaf hashes). Written once, when the append completes the subtree."""

    level = models.PositiveSmallIntegerField()
    position = models.PositiveBigIntegerField()
    hash = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "position"], name="log_node_unique"),
        ]


class LogHead(models.Model):
    """A signed tree head (zkproofs.commitlog.TreeHead), one per size the log had."""

    tree_size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.BinaryField()
    timestamp = models.DateTimeField()
    signature = models.BinaryField()
    public_key = models.CharField(max_length=96)

    class Meta:
        ordering = ["-tree_size"]

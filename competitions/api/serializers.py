"""API representations. Input serializers only parse types; every rule about what is
allowed lives in the services."""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from zkproofs.competition import DEFAULT_BUDGET
from zkproofs.ml import architecture as arch_limits
from zkproofs.ml import datasets
from zkproofs.ml.architecture import Architecture

from .. import selectors
from ..models import Competition, DataFile, ModelCommitment, Submission, SubmissionStatus
from ..services import competitions as cs
from ..services.commitments import receipt_for

SHA256_FIELD = {
    "required": False,
    "min_length": 64,
    "max_length": 64,
    "help_text": "Optional SHA-256 (hex) of the file; the upload is refused if it differs.",
}


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# ------------------------------------------------------------------------ competitions


class TimestampAuthorityInputSerializer(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=100)
    url = serializers.CharField(
        min_length=8, max_length=500, help_text="Where `zkarena commit` asks for tokens."
    )
    certificate = serializers.CharField(
        min_length=1, max_length=32768,
        help_text="PEM: the authority's trust anchor (root CA) first, then any intermediates.",
    )


class TimestampAuthoritySerializer(TimestampAuthorityInputSerializer):
    fingerprint = serializers.CharField(help_text="SHA-256 of the trust anchor (DER), hex.")


class CompetitionCreateSerializer(serializers.Serializer):
    """Types and the integer ranges the service accepts (so that the schema states them);
    the service still decides (services/competitions.py)."""

    slug = serializers.CharField(min_length=1, max_length=64)
    title = serializers.CharField(min_length=1, max_length=cs.MAX_TITLE)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=cs.MAX_TEXT,
        help_text="Overview, in Markdown (rendered sanitized).",
    )
    rules = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=cs.MAX_TEXT,
        help_text="Rules and prizes, in Markdown.",
    )
    data_description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=cs.MAX_TEXT,
        help_text="What the training data and the test set hold, in Markdown.",
    )
    data_licence = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=cs.MAX_LICENCE,
        help_text="The training data's licence, e.g. 'CC BY 4.0'.",
    )
    input_shape = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=arch_limits.MAX_DIM),
        min_length=1,
        max_length=3,
    )
    input_min = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    input_max = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    input_scale = serializers.IntegerField(min_value=1, max_value=cs.MAX_INPUT_SCALE)
    num_classes = serializers.IntegerField(min_value=2, max_value=datasets.MAX_CLASSES)
    threshold = serializers.CharField(
        min_length=1,
        max_length=64,
        help_text="An exact fraction or decimal, as a string: '9/10' or '0.9' "
        f"(denominator at most {cs.MAX_THRESHOLD_DENOMINATOR}).",
    )
    max_parameters = serializers.IntegerField(min_value=1, max_value=arch_limits.MAX_PARAMETERS)
    max_layers = serializers.IntegerField(
        min_value=1, max_value=arch_limits.MAX_LAYERS, required=False, allow_null=True
    )
    commitment_cap = serializers.IntegerField(
        min_value=1, max_value=cs.MAX_COMMITMENT_CAP, required=False, default=3
    )
    submission_limit = serializers.IntegerField(
        min_value=1, max_value=cs.MAX_SUBMISSION_LIMIT, required=False, default=5
    )
    max_prove_seconds = serializers.IntegerField(
        min_value=1, max_value=cs.MAX_BUDGET_SECONDS, required=False,
        default=DEFAULT_BUDGET.prove_seconds,
        help_text="Budget: a model whose proof is estimated to take longer on the test set "
        "(reference machine) is refused at commit.",
    )
    max_verify_seconds = serializers.IntegerField(
        min_value=1, max_value=cs.MAX_BUDGET_SECONDS, required=False,
        default=DEFAULT_BUDGET.verify_seconds,
        help_text="Budget: … estimated to take longer to verify.",
    )
    max_proof_bytes = serializers.IntegerField(
        min_value=1, max_value=10**12, required=False,
        help_text="Budget: … whose proof is larger (exact). At most the site's proof upload "
        "limit less the file's headers; by default the smaller of that and "
        f"{DEFAULT_BUDGET.proof_bytes:,}.",
    )
    reveal_at = serializers.DateTimeField()
    proof_deadline = serializers.DateTimeField()
    timestamp_authorities = TimestampAuthorityInputSerializer(
        many=True, required=False, max_length=8,
        help_text="RFC 3161 timestamp authorities; each commitment must then carry a token "
        "from one of them dated before the reveal. Fixed at creation.",
    )

    def validate_threshold(self, value):
        # A JSON number has already gone through a float; only text keeps the exact value.
        if not isinstance(self.initial_data.get("threshold"), str):
            raise serializers.ValidationError("give the threshold as a string such as '9/10'")
        return value


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(min_length=1, max_length=150)
    password = serializers.CharField(min_length=1, max_length=4096, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class TestSetInfoSerializer(serializers.Serializer):
    digest = serializers.CharField(help_text="SHA-256(salt ‖ canonical test set), hex.")
    num_samples = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    revealed = serializers.BooleanField()
    salt = serializers.CharField(allow_null=True, help_text="Published at reveal_at.")
    download_url = serializers.CharField(allow_null=True)


def test_set_info(competition: Competition, request) -> dict | None:
    if not competition.has_test_set:
        return None
    revealed = competition.is_revealed()
    url = reverse("api-test-set-data", args=[competition.slug])
    return {
        "digest": competition.test_set_digest,
        "num_samples": competition.test_set_num_samples,
        "uploaded_at": competition.test_set_uploaded_at,
        "revealed": revealed,
        "salt": competition.test_set_salt if revealed else None,
        "download_url": _absolute(request, url) if revealed else None,
    }


class DataFileSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DataFile
        fields = ["id", "name", "description", "size", "sha256", "uploaded_at", "download_url"]

    def get_download_url(self, obj) -> str:
        return _absolute(
            self.context.get("request"),
            reverse("api-data-file", args=[obj.competition.slug, obj.pk]),
        )


class CompetitionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    organizer = serializers.CharField(source="organizer.username", read_only=True)
    threshold = serializers.SerializerMethodField()
    required_correct = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="⌈threshold · N⌉; null before the test set."
    )
    phase = serializers.SerializerMethodField()
    test_set = serializers.SerializerMethodField()
    spec = serializers.SerializerMethodField()
    data_files = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    timestamp_authorities = serializers.SerializerMethodField()
    commit_time_evidence = serializers.SerializerMethodField()
    reveal_log_index = serializers.SerializerMethodField()

    class Meta:
        model = Competition
        fields = [
            "id",
            "slug",
            "title",
            "description",
            "rules",
            "data_description",
            "data_licence",
            "organizer",
            "phase",
            "input_shape",
            "input_min",
            "input_max",
            "input_scale",
            "num_classes",
            "threshold",
            "required_correct",
            "max_parameters",
            "max_layers",
            "commitment_cap",
            "submission_limit",
            "max_prove_seconds",
            "max_verify_seconds",
            "max_proof_bytes",
            "reveal_at",
            "proof_deadline",
            "created_at",
            "test_set",
            "spec",
            "data_files",
            "page_url",
            "timestamp_authorities",
            "commit_time_evidence",
            "reveal_log_index",
        ]

    def get_threshold(self, obj) -> str:
        return str(obj.threshold)

    def get_phase(self, obj) -> str:
        return obj.phase().value

    def get_test_set(self, obj) -> dict | None:
        return test_set_info(obj, self.context.get("request"))

    def get_spec(self, obj) -> dict | None:
        """The CompetitionSpec proofs are bound to (zkproofs.competition), with its digest."""
        return json.loads(obj.spec().to_json()) if obj.has_test_set else None

    @extend_schema_field(DataFileSerializer(many=True))
    def get_data_files(self, obj):
        # Prefetched by the views that list competitions (one query for all of them).
        return DataFileSerializer(obj.data_files.all(), many=True, context=self.context).data

    @extend_schema_field(TimestampAuthoritySerializer(many=True))
    def get_timestamp_authorities(self, obj):
        return [a.to_dict() for a in obj.authorities()]

    def get_commit_time_evidence(self, obj) -> str:
        """"rfc3161": each commitment carries a token from a listed authority; "site": the
        commit time is the site's signed word and the log's order only."""
        return "rfc3161" if obj.timestamp_authorities else "site"

    def get_reveal_log_index(self, obj) -> int | None:
        """The reveal's entry in the commitment log (null until the reveal is logged)."""
        prefetched = getattr(obj, "reveal_entries", None)
        if prefetched is not None:
            return prefetched[0].index if prefetched else None
        entry = obj.log_entries.filter(kind="reveal").only("index").first()
        return entry.index if entry is not None else None

    def get_page_url(self, obj) -> str:
        page = reverse("competition-detail", args=[obj.slug])
        return _absolute(self.context.get("request"), page)


class DataFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Any format; at most MAX_DATA_FILE_BYTES.")
    name = serializers.CharField(
        required=False, max_length=128,
        help_text="The name people download (default: the uploaded file's); letters, "
        "digits, '.', '-', '_'.",
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )
    sha256 = serializers.CharField(**SHA256_FIELD)


class TestSetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=".npz with integer arrays x and y, or .csv")
    sha256 = serializers.CharField(**SHA256_FIELD)


# ------------------------------------------------------------------------- commitments


class ReceiptSerializer(serializers.Serializer):
    competition_id = serializers.UUIDField()
    submitter_id = serializers.UUIDField()
    architecture_digest = serializers.CharField()
    commitment_digest = serializers.CharField()
    committed_at = serializers.DateTimeField()
    timestamp_us = serializers.IntegerField(help_text="committed_at in UTC microseconds")
    message = serializers.CharField(help_text="The signed canonical receipt bytes, hex.")
    signature = serializers.CharField()
    public_key = serializers.CharField()


def receipt_data(record: ModelCommitment) -> dict:
    receipt = receipt_for(record)
    return {
        "competition_id": receipt.competition_id,
        "submitter_id": receipt.submitter_id,
        "architecture_digest": record.architecture_digest,
        "commitment_digest": record.commitment_digest,
        "committed_at": record.created_at,
        "timestamp_us": receipt.timestamp_us,
        "message": receipt.canonical_bytes().hex(),
        "signature": bytes(record.receipt_signature).hex(),
        "public_key": record.receipt_public_key,
    }


class CommitmentTimestampSerializer(serializers.Serializer):
    authority = serializers.CharField()
    time = serializers.DateTimeField()


class CostSerializer(serializers.Serializer):
    prove_seconds = serializers.FloatField(help_text="Estimated, on the reference machine.")
    prove_megabytes = serializers.FloatField(help_text="Estimated peak memory to prove.")
    verify_seconds = serializers.FloatField(help_text="Estimated, on the reference machine.")
    proof_bytes = serializers.IntegerField(help_text="The proof's exact size.")


class CommitmentSerializer(serializers.ModelSerializer):
    competition = serializers.CharField(source="competition.slug", read_only=True)
    competitor = serializers.CharField(source="competitor.username", read_only=True)
    competitor_id = serializers.UUIDField(source="competitor.uuid", read_only=True)
    receipt = serializers.SerializerMethodField()
    timestamp = serializers.SerializerMethodField()
    log_index = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField(
        help_text="What proving the architecture at the competition's N costs, counted "
        "when it was committed; shown to the competition's organizer, staff and the "
        "commitment's owner (null for anyone else)."
    )

    class Meta:
        model = ModelCommitment
        fields = [
            "id",
            "competition",
            "competitor",
            "competitor_id",
            "architecture_digest",
            "parameter_count",
            "weight_rows",
            "commitment_digest",
            "created_at",
            "receipt",
            "timestamp",
            "log_index",
            "cost",
        ]

    def get_receipt(self, obj) -> ReceiptSerializer:
        return receipt_data(obj)

    @extend_schema_field(CommitmentTimestampSerializer(allow_null=True))
    def get_timestamp(self, obj):
        """The RFC 3161 stamp checked at registration (null: none, the site's word only)."""
        if obj.timestamped_at is None:
            return None
        return {"authority": obj.timestamp_authority, "time": obj.timestamped_at}

    def get_log_index(self, obj) -> int | None:
        """Its entry in the site's commitment log (GET /api/log/…)."""
        entry = getattr(obj, "log_entry", None)
        return entry.index if entry is not None else None

    @extend_schema_field(CostSerializer(allow_null=True))
    def get_cost(self, obj):
        request = self.context.get("request")
        if request is None or not selectors.may_see_cost(request.user, obj):
            return None
        return obj.cost


class CommitmentDetailSerializer(CommitmentSerializer):
    """With the public bytes a verifier needs: the architecture and C_W (hex)."""

    architecture = serializers.SerializerMethodField()
    architecture_json = serializers.SerializerMethodField()
    commitment = serializers.SerializerMethodField()
    timestamp_token = serializers.SerializerMethodField()

    class Meta(CommitmentSerializer.Meta):
        fields = [
            *CommitmentSerializer.Meta.fields,
            "architecture",
            "architecture_json",
            "commitment",
            "timestamp_token",
        ]

    def get_timestamp_token(self, obj) -> str | None:
        """The RFC 3161 timestamp response (DER, hex), as the competitor uploaded it."""
        token = bytes(obj.timestamp_token or b"")
        return token.hex() if token else None

    def get_architecture(self, obj) -> str:
        return bytes(obj.architecture).hex()

    def get_architecture_json(self, obj) -> dict:
        return Architecture.from_bytes(bytes(obj.architecture)).to_dict()

    def get_commitment(self, obj) -> str:
        return bytes(obj.commitment).hex()


class CommitmentUploadSerializer(serializers.Serializer):
    architecture = serializers.FileField(help_text="Canonical architecture encoding (ZKAR).")
    commitment = serializers.FileField(help_text="Canonical weight commitment C_W (ZKCW).")
    knowledge_proof = serializers.FileField(help_text="Proof of knowledge of the opening (ZKPK).")
    timestamp_token = serializers.FileField(
        required=False,
        help_text="RFC 3161 TimeStampResp (DER) over the commitment statement "
        "(zkproofs.timestamps), from one of the competition's listed authorities; required "
        "when it lists any.",
    )


# ------------------------------------------------------------------------- submissions


class SubmissionSerializer(serializers.ModelSerializer):
    competition = serializers.CharField(source="competition.slug", read_only=True)
    competitor = serializers.CharField(source="competitor.username", read_only=True)
    competitor_id = serializers.UUIDField(source="competitor.uuid", read_only=True)
    commitment_digest = serializers.CharField(source="commitment.commitment_digest", read_only=True)
    num_samples = serializers.IntegerField(
        source="competition.test_set_num_samples", read_only=True
    )
    accuracy = serializers.SerializerMethodField()
    status_display = serializers.CharField(
        source="get_status_display",
        read_only=True,
        help_text='The status in words; "error" reads "Delayed by the platform": the site\'s '
        "own faults kept it from verifying the proof, which is no verdict on it.",
    )
    proof_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "competition",
            "competitor",
            "competitor_id",
            "commitment",
            "commitment_digest",
            "claimed_count",
            "num_samples",
            "accuracy",
            "status",
            "status_display",
            "attempts",
            "proof_sha256",
            "proof_size",
            "proof_url",
            "page_url",
            "verification_log",
            "hidden",
            "created_at",
            "updated_at",
            "verification_started_at",
            "verification_finished_at",
        ]

    def get_accuracy(self, obj) -> str:
        """claimed_count / N as an exact fraction."""
        return f"{obj.claimed_count}/{obj.competition.test_set_num_samples}"

    def get_proof_url(self, obj) -> str:
        return _absolute(
            self.context.get("request"), reverse("api-submission-proof", args=[obj.pk])
        )

    def get_page_url(self, obj) -> str:
        return _absolute(self.context.get("request"), reverse("submission-detail", args=[obj.pk]))


class SubmissionDetailSerializer(SubmissionSerializer):
    """Everything `zkarena verify` needs besides the proof file: the competition spec and
    the commitment record (architecture, C_W, receipt)."""

    spec = serializers.SerializerMethodField()
    commitment_record = serializers.SerializerMethodField()

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "spec", "commitment_record"]

    def get_spec(self, obj) -> dict:
        return json.loads(obj.competition.spec().to_json())

    def get_commitment_record(self, obj) -> dict:
        return CommitmentDetailSerializer(obj.commitment, context=self.context).data


class SubmissionUploadSerializer(serializers.Serializer):
    proof = serializers.FileField(
        help_text="The proof file written by `zkarena prove` (zkproofs.accuracy.AccuracyProof)."
    )
    commitment = serializers.IntegerField(
        required=False,
        help_text="Id of your commitment; by default the one the proof file names.",
    )
    claimed_count = serializers.IntegerField(
        min_value=0, required=False, help_text="By default the claim in the proof file."
    )
    sha256 = serializers.CharField(**SHA256_FIELD)


# ------------------------------------------------------------------------- filters


class MineFilterSerializer(serializers.Serializer):
    """Query parameters of the commitment list; anything else than a boolean is a 400."""

    mine = serializers.BooleanField(
        required=False, default=False, help_text="Only your own (nothing when anonymous)."
    )


class SubmissionFilterSerializer(MineFilterSerializer):
    status = serializers.ChoiceField(
        choices=SubmissionStatus.choices, required=False, help_text="Only this status."
    )


# ------------------------------------------------------------------------- leaderboard


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    competitor = serializers.CharField()
    competitor_id = serializers.CharField()
    claimed_count = serializers.IntegerField()
    num_samples = serializers.IntegerField()
    accuracy = serializers.CharField(help_text="Exact fraction c/N.")
    accuracy_percent = serializers.CharField(help_text="Rounded, for display only.")
    committed_at = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    commitment_digest = serializers.CharField()
    submission_id = serializers.IntegerField()


LEADERBOARD_COLUMNS = list(LeaderboardRowSerializer().fields)


def leaderboard_payload(competition: Competition, rows, *, page: dict | None = None) -> dict:
    return {
        **(page or {}),
        "competition": competition.slug,
        "num_samples": competition.test_set_num_samples,
        "required_correct": competition.required_correct,
        "final": competition.phase() == "closed",
        "generated_at": timezone.now(),
        "columns": LEADERBOARD_COLUMNS,
        "rows": [
            {
                "rank": r.rank,
                "competitor": r.competitor,
                "competitor_id": r.competitor_id,
                "claimed_count": r.claimed_count,
                "num_samples": r.num_samples,
                "accuracy": f"{r.claimed_count}/{r.num_samples}",
                "accuracy_percent": r.accuracy_percent,
                "committed_at": r.committed_at.isoformat(),
                "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                "commitment_digest": r.commitment_digest,
                "submission_id": r.submission_id,
            }
            for r in rows
        ],
    }


# ------------------------------------------------------------------------- the log


class SignedTreeHeadSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    timestamp_us = serializers.IntegerField(help_text="The signed time, UTC microseconds.")
    root_hash = serializers.CharField()
    signature = serializers.CharField(help_text="Schnorr over BLS12-381 G1 (the receipt key).")
    public_key = serializers.CharField()


class InclusionQuerySerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, max_value=2**62)
    tree_size = serializers.IntegerField(min_value=1, max_value=2**62)


class InclusionProofSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    audit_path = serializers.ListField(child=serializers.CharField())


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=0, max_value=2**62)
    second = serializers.IntegerField(min_value=0, max_value=2**62)


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    consistency_path = serializers.ListField(child=serializers.CharField())


class EntriesQuerySerializer(serializers.Serializer):
    start = serializers.IntegerField(min_value=0, max_value=2**62)
    end = serializers.IntegerField(
        min_value=1, max_value=2**62, help_text="Exclusive; at most 1000 entries a request."
    )


class LogEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    kind = serializers.CharField()
    competition = serializers.CharField(help_text="The competition's slug.")
    data = serializers.CharField(help_text="The entry's canonical bytes (zkproofs.commitlog), hex.")

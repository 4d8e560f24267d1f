"""The REST API. Views parse the request, call a service or a selector and render; the
rules themselves (who may do what, when, within which limits) live in the services."""

from __future__ import annotations

import logging

from django.db.models import Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from .. import login_guard, selectors
from ..models import Competition, DataFile, LogEntry, ModelCommitment, Submission
from ..services import commitments as commitment_service
from ..services import competitions as competition_service
from ..services import data_files as data_file_service
from ..services import receipts as receipt_service
from ..services import submissions as submission_service
from ..services import transparency
from ..services.errors import ErrorCode, InvalidInput, NotFound, NotPermitted
from . import serializers as s
from .pagination import BoundedLimitOffsetPagination
from .renderers import CSVRenderer
from .throttles import UploadThrottle

log = logging.getLogger(__name__)
WRITE_THROTTLES = [*api_settings.DEFAULT_THROTTLE_CLASSES, UploadThrottle]
ERROR = OpenApiResponse(
    inline_serializer(
        "Error", {"detail": serializers.CharField(), "code": serializers.CharField()}
    ),
    description="Refused: the body says why (`detail`) and a stable `code`.",
)


def _competition(request, slug: str) -> Competition:
    # Drafts are invisible (404) to everyone but their organizer and staff.
    return get_object_or_404(selectors.competitions_visible_to(request.user), slug=slug)


class InCompetition:
    """A view under /api/competitions/<slug>/…: ``self.competition`` is that competition,
    looked up (404 for a draft its viewer may not see) after authentication and
    permissions, before the handler runs."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.competition = _competition(request, kwargs["slug"])


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _filters(request, serializer_class) -> dict:
    """The list's query parameters, validated: an unknown value is a 400, not ignored."""
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data


def _stored_file(field, what: str):
    """Open a stored file for download; a file missing from storage is a clear 404."""
    try:
        return field.open("rb")
    except FileNotFoundError:
        log.error("stored %s %s is missing from storage", what, field.name)
        raise NotFound(
            f"the stored {what} is missing; the site's staff have been told",
            code=ErrorCode.FILE_MISSING,
        ) from None


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (`Authorization: Token <key>`)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # Attempts are counted by the login guard, with the login page's (one budget).
    throttle_classes = []
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={200: s.TokenSerializer, 400: ERROR, 429: ERROR},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, dict) else {}
        login_guard.check(request, str(data.get("username") or ""))
        return super().post(request, *args, **kwargs)


class MeView(APIView):
    """The account behind the token: its immutable `id` is the submitter id that
    commitments and proofs are bound to (the command line needs it to commit)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Me",
                {
                    "id": serializers.UUIDField(),
                    "username": serializers.CharField(),
                    "is_organizer": serializers.BooleanField(),
                },
            ),
            401: ERROR,
        }
    )
    def get(self, request):
        user = request.user
        return Response(
            {"id": str(user.uuid), "username": user.username, "is_organizer": user.can_organize()}
        )


class ReceiptKeyView(APIView):
    """The public key that checks commitment receipts (48-byte compressed G1 point, hex)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "ReceiptKey",
            {"public_key": serializers.CharField(), "algorithm": serializers.CharField()},
        ),
        auth=[],
    )
    def get(self, request):
        return Response(
            {"public_key": receipt_service.public_key_hex(), "algorithm": receipt_service.ALGORITHM}
        )


class CompetitionListView(generics.ListCreateAPIView):
    throttle_classes = WRITE_THROTTLES

    def get_queryset(self):
        return selectors.competitions_visible_to(self.request.user).prefetch_related(
            "data_files",
            # The reveal's log entry, for `reveal_log_index` (one query for the page).
            Prefetch("log_entries", queryset=LogEntry.objects.filter(kind="reveal").only(
                "index", "competition_id"), to_attr="reveal_entries"),
        )

    def get_serializer_class(self):
        return (
            s.CompetitionCreateSerializer
            if self.request.method == "POST"
            else s.CompetitionSerializer
        )

    @extend_schema(
        request=s.CompetitionCreateSerializer,
        responses={201: s.CompetitionSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 409: ERROR},
    )
    def post(self, request):
        data = s.CompetitionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        competition = competition_service.create_competition(
            organizer=request.user,
            data=competition_service.CompetitionInput(**data.validated_data),
        )
        out = s.CompetitionSerializer(competition, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


class CompetitionDetailView(APIView):
    @extend_schema(responses={200: s.CompetitionSerializer, 404: ERROR})
    def get(self, request, slug):
        competition = _competition(request, slug)
        transparency.ensure_reveal_logged(competition)
        return Response(s.CompetitionSerializer(competition, context={"request": request}).data)


class TestSetView(APIView):
    """GET: the test set's salted digest (always) and, from the reveal, its salt and
    download link. POST (organizer, before the reveal, before any commitment): upload it."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = WRITE_THROTTLES

    @extend_schema(responses={200: s.TestSetInfoSerializer, 404: ERROR})
    def get(self, request, slug):
        competition = _competition(request, slug)
        transparency.ensure_reveal_logged(competition)  # before the salt is served
        info = s.test_set_info(competition, request)
        if info is None:
            return Response(
                {"detail": "no test set has been uploaded yet", "code": ErrorCode.NO_TEST_SET},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(info)

    @extend_schema(
        request={"multipart/form-data": s.TestSetUploadSerializer},
        responses={
            201: s.CompetitionSerializer,
            **dict.fromkeys((400, 401, 403, 404, 409, 413), ERROR),
        },
    )
    def post(self, request, slug):
        competition = _competition(request, slug)
        data = s.TestSetUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        competition = competition_service.upload_test_set(
            competition,
            by=request.user,
            upload=data.validated_data["file"],
            expected_sha256=data.validated_data.get("sha256"),
        )
        out = s.CompetitionSerializer(competition, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


class TestSetDataView(APIView):
    """The canonical test set (.npz with int64 arrays x and y), from the reveal on; check
    it with SHA-256(salt ‖ canonical bytes) against the digest published at the start."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 403: ERROR})
    def get(self, request, slug):
        competition = _competition(request, slug)
        if not competition.has_test_set:
            return Response(
                {"detail": "no test set has been uploaded yet", "code": ErrorCode.NO_TEST_SET},
                status=status.HTTP_404_NOT_FOUND,
            )
        is_organizer = request.user.is_authenticated and request.user.pk == competition.organizer_id
        if not competition.is_revealed() and not is_organizer:
            raise NotPermitted(
                f"the test set is revealed at {competition.reveal_at.isoformat()}",
                code=ErrorCode.NOT_REVEALED,
            )
        transparency.ensure_reveal_logged(competition)
        return FileResponse(
            _stored_file(competition.test_set_file, "test set"),
            as_attachment=True,
            filename=f"{competition.slug}-test-set.npz",
            content_type="application/octet-stream",
        )


class CommitmentListView(InCompetition, generics.ListAPIView):
    """GET: the competition's commitments (public: they reveal nothing about the weights;
    `?mine=1` for your own). POST: register a commitment before the reveal."""

    serializer_class = s.CommitmentSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = WRITE_THROTTLES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return ModelCommitment.objects.none()
        filters = _filters(self.request, s.MineFilterSerializer)
        qs = selectors.commitments_of(self.competition)
        if filters["mine"]:
            qs = (
                qs.filter(competitor=self.request.user)
                if self.request.user.is_authenticated
                else qs.none()
            )
        return qs

    @extend_schema(parameters=[s.MineFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": s.CommitmentUploadSerializer},
        responses={
            201: s.CommitmentDetailSerializer,
            **dict.fromkeys((400, 401, 403, 404, 409, 413), ERROR),
        },
    )
    def post(self, request, slug):
        data = s.CommitmentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = commitment_service.register_commitment(
            competition=self.competition,
            competitor=request.user,
            architecture=data.validated_data["architecture"],
            commitment=data.validated_data["commitment"],
            knowledge_proof=data.validated_data["knowledge_proof"],
            timestamp_token=data.validated_data.get("timestamp_token"),
        )
        out = s.CommitmentDetailSerializer(record, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


class SubmissionListView(InCompetition, generics.ListAPIView):
    """GET: the competition's submissions you may see (`?mine=1`, `?status=`). POST: submit
    a proof for one of your commitments, between the reveal and the proof deadline."""

    serializer_class = s.SubmissionSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = WRITE_THROTTLES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Submission.objects.none()
        filters = _filters(self.request, s.SubmissionFilterSerializer)
        qs = (
            selectors.submissions_visible_to(self.request.user)
            .filter(competition=self.competition)
            # A listing needs none of the commitment's byte columns.
            .defer(*selectors.COMMITMENT_BYTES)
        )
        if filters["mine"]:
            qs = (
                qs.filter(competitor=self.request.user)
                if self.request.user.is_authenticated
                else qs.none()
            )
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        return qs

    @extend_schema(parameters=[s.SubmissionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": s.SubmissionUploadSerializer},
        responses={
            201: s.SubmissionDetailSerializer,
            **dict.fromkeys((400, 401, 403, 404, 409, 413), ERROR),
        },
    )
    def post(self, request, slug):
        # Refusals that need none of the body come before it is parsed (a proof upload is
        # up to MAX_PROOF_BYTES; nobody without a commitment here should cost that).
        submission_service.check_can_submit(
            competition=self.competition,
            competitor=request.user,
            content_length=_content_length(request),
        )
        data = s.SubmissionUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = submission_service.create_submission(
            competition=self.competition,
            competitor=request.user,
            commitment_id=data.validated_data.get("commitment"),
            claimed_count=data.validated_data.get("claimed_count"),
            proof=data.validated_data["proof"],
            expected_sha256=data.validated_data.get("sha256"),
        )
        out = s.SubmissionDetailSerializer(submission, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


def _submission(request, pk: int):
    return get_object_or_404(selectors.submissions_visible_to(request.user), pk=pk)


class SubmissionDetailView(APIView):
    @extend_schema(responses={200: s.SubmissionDetailSerializer, 404: ERROR})
    def get(self, request, pk):
        submission = _submission(request, pk)
        return Response(s.SubmissionDetailSerializer(submission, context={"request": request}).data)


class SubmissionProofView(APIView):
    """The proof file as uploaded, for anyone who may see the submission."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR})
    def get(self, request, pk):
        submission = _submission(request, pk)
        response = FileResponse(
            _stored_file(submission.proof, "proof file"),
            as_attachment=True,
            filename=f"submission-{submission.pk}.zkproof",
            content_type="application/octet-stream",
        )
        response["X-Content-SHA256"] = submission.proof_sha256
        return response


class DataFileListView(InCompetition, generics.ListAPIView):
    """GET: the competition's training-data files (public once the competition is). POST
    (its organizer): publish one, at most MAX_DATA_FILE_BYTES, MAX_DATA_FILES per
    competition, under a name not used yet."""

    serializer_class = s.DataFileSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = WRITE_THROTTLES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DataFile.objects.none()
        return self.competition.data_files.select_related("competition")

    @extend_schema(
        request={"multipart/form-data": s.DataFileUploadSerializer},
        responses={
            201: s.DataFileSerializer,
            **dict.fromkeys((400, 401, 403, 404, 409, 413), ERROR),
        },
    )
    def post(self, request, slug):
        data = s.DataFileUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = data_file_service.upload_data_file(
            self.competition,
            by=request.user,
            upload=data.validated_data["file"],
            name=data.validated_data.get("name"),
            description=data.validated_data.get("description", ""),
            expected_sha256=data.validated_data.get("sha256"),
        )
        out = s.DataFileSerializer(record, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


class DataFileDownloadView(APIView):
    """One training-data file, as uploaded (its SHA-256 in `X-Content-SHA256`)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR})
    def get(self, request, slug, pk):
        competition = _competition(request, slug)
        record = get_object_or_404(competition.data_files, pk=pk)
        response = FileResponse(
            _stored_file(record.file, "data file"),
            as_attachment=True,
            filename=record.name,
            content_type="application/octet-stream",
        )
        response["X-Content-SHA256"] = record.sha256
        return response


class LeaderboardView(APIView):
    """Best verified claim per competitor, ranked by count, then the earlier commitment.
    JSON, a page at a time (`?limit=` 1 to 1000, default 100, `?offset=`; follow `next`),
    or the whole board as CSV with `?format=csv`."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["json", "csv"]),
            OpenApiParameter(
                "limit", int, description="Rows per page (JSON), 1 to 1000; default 100."
            ),
            OpenApiParameter("offset", int, description="First row (JSON), from 0."),
        ],
        responses={
            200: inline_serializer(
                "Leaderboard",
                {
                    "count": serializers.IntegerField(help_text="Ranked competitors in all."),
                    "offset": serializers.IntegerField(),
                    "limit": serializers.IntegerField(allow_null=True),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                    "competition": serializers.CharField(),
                    "num_samples": serializers.IntegerField(allow_null=True),
                    "required_correct": serializers.IntegerField(allow_null=True),
                    "final": serializers.BooleanField(),
                    "generated_at": serializers.DateTimeField(),
                    "columns": serializers.ListField(child=serializers.CharField()),
                    "rows": s.LeaderboardRowSerializer(many=True),
                },
            ),
            404: ERROR,
        },
    )
    def get(self, request, slug):
        competition = _competition(request, slug)
        pager = BoundedLimitOffsetPagination()
        limit, offset = pager.get_limit(request), pager.get_offset(request)
        if request.accepted_renderer.format == "csv":
            rows = selectors.leaderboard(competition)  # the whole board, for spreadsheets
            page = {"count": len(rows), "offset": 0, "limit": None, "next": None,
                    "previous": None}  # fmt: skip
        else:
            rows = selectors.leaderboard(competition, offset=offset, limit=limit)
            count = selectors.leaderboard_size(competition)
            base = request.build_absolute_uri(request.path)
            page = {
                "count": count,
                "offset": offset,
                "limit": limit,
                "next": f"{base}?limit={limit}&offset={offset + limit}"
                if offset + limit < count
                else None,
                "previous": f"{base}?limit={limit}&offset={max(0, offset - limit)}"
                if offset > 0
                else None,
            }
        payload = s.leaderboard_payload(competition, rows, page=page)
        response = Response(payload)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = (
                f'attachment; filename="{competition.slug}-leaderboard.csv"'
            )
        return response


# ------------------------------------------------------------------ the commitment log


def _query(request, serializer_class) -> dict:
    data = serializer_class(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


class LogHeadView(APIView):
    """The commitment log's latest signed tree head (RFC 9162 hashing; signed with the
    receipt key). `zkarena witness URL` keeps what it saw and checks each new head against it."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses=s.SignedTreeHeadSerializer, auth=[])
    def get(self, request):
        return Response(transparency.signed_head(transparency.latest_head()))


class LogInclusionView(APIView):
    """The audit path of entry `index` in the tree of `tree_size` entries."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(parameters=[s.InclusionQuerySerializer],
                   responses={200: s.InclusionProofSerializer, 400: ERROR}, auth=[])  # fmt: skip
    def get(self, request):
        q = _query(request, s.InclusionQuerySerializer)
        return Response(transparency.inclusion(q["index"], q["tree_size"]))


class LogConsistencyView(APIView):
    """The consistency proof between the trees of `first` and `second` entries."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(parameters=[s.ConsistencyQuerySerializer],
                   responses={200: s.ConsistencyProofSerializer, 400: ERROR}, auth=[])  # fmt: skip
    def get(self, request):
        q = _query(request, s.ConsistencyQuerySerializer)
        return Response(transparency.consistency(q["first"], q["second"]))


MAX_LOG_ENTRIES = 1000


class LogEntriesView(APIView):
    """Entries `start` to `end` (exclusive, at most 1000), as their canonical bytes."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[s.EntriesQuerySerializer],
        responses={200: inline_serializer("LogEntries", {
            "entries": s.LogEntrySerializer(many=True)}), 400: ERROR},
        auth=[],
    )  # fmt: skip
    def get(self, request):
        q = _query(request, s.EntriesQuerySerializer)
        start, end = q["start"], q["end"]
        if not start < end <= start + MAX_LOG_ENTRIES:
            raise InvalidInput(f"ask for 1 to {MAX_LOG_ENTRIES} entries (start < end)",
                               code=ErrorCode.LOG_OUT_OF_RANGE, field="end")  # fmt: skip
        rows = transparency.entries(start, end)
        slugs = dict(Competition.objects.filter(
            pk__in={r.competition_id for r in rows}).values_list("pk", "slug"))  # fmt: skip
        return Response({"entries": [
            {"index": r.index, "kind": r.kind, "competition": slugs.get(r.competition_id, ""),
             "data": bytes(r.data).hex()} for r in rows]})  # fmt: skip

"""Writes to competitions: creating one, and uploading (or replacing) its test set."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import PurePath

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from zkproofs import timestamps
from zkproofs.accuracy import LAYERED_HEADER, PROOF_FILE_HEADER
from zkproofs.competition import DEFAULT_BUDGET, SpecError, parse_threshold
from zkproofs.ml import architecture as arch_limits
from zkproofs.ml import datasets

from ..models import Competition, User
from .errors import Conflict, ErrorCode, InvalidInput, NotPermitted, TooLarge
from .uploads import Upload, spool_to_tempfile

log = logging.getLogger(__name__)

MAX_COMMITMENT_CAP = 100
MAX_SUBMISSION_LIMIT = 1000
MAX_TITLE = 200
MAX_TEXT = 20_000  # overview, rules, data description (Markdown)
MAX_LICENCE = 200
# The spec encodes the scale as a u64 and the database as a signed 64-bit integer; no
# quantization needs anywhere near 2^32 steps per unit.
MAX_INPUT_SCALE = 1 << 32
# The threshold's reduced denominator (stored as a signed 64-bit integer): 12 decimals.
MAX_THRESHOLD_DENOMINATOR = 10**12
# A fraction "9/10" or a plain decimal "0.9": no exponent (Fraction would compute
# 10**exponent, for any exponent that fits the text), no sign, no underscores.
_THRESHOLD_TEXT = re.compile(r"(\d{1,20}/\d{1,20}|\d{1,20}(\.\d{0,20})?|\.\d{1,20})")
# The budget's time limits: estimated seconds on the reference machine (a bit under 12 days;
# a stored positive 32-bit integer).
MAX_BUDGET_SECONDS = 1_000_000


def max_budget_proof_bytes() -> int:
    """The largest proof-size budget that still fits the site's upload limit: a proof of
    this size in its file (two headers) is exactly MAX_PROOF_BYTES. A larger budget would
    admit commitments whose proofs could never be uploaded."""
    return settings.MAX_PROOF_BYTES - PROOF_FILE_HEADER - LAYERED_HEADER


def default_budget_proof_bytes() -> int:
    return min(DEFAULT_BUDGET.proof_bytes, max_budget_proof_bytes())


@dataclass(frozen=True)
class CompetitionInput:
    """Everything an organizer declares when creating a competition."""

    slug: str
    title: str
    description: str
    input_shape: tuple[int, ...]
    input_min: int
    input_max: int
    input_scale: int
    num_classes: int
    threshold: str | Fraction  # "9/10", "0.9" or a Fraction; never a float
    max_parameters: int
    reveal_at: datetime
    proof_deadline: datetime
    max_layers: int | None = None
    commitment_cap: int = 3
    submission_limit: int = 5
    rules: str = ""
    data_description: str = ""
    data_licence: str = ""
    # RFC 3161 timestamp authorities ({name, url, certificate} each; zkproofs.timestamps):
    # every commitment must then carry a token from one of them dated before the reveal.
    timestamp_authorities: tuple = ()
    # The budget per committed architecture at the competition's N (zkproofs.competition.
    # Budget); the proof size defaults to the library's default or the site's upload limit.
    max_prove_seconds: int = DEFAULT_BUDGET.prove_seconds
    max_verify_seconds: int = DEFAULT_BUDGET.verify_seconds
    max_proof_bytes: int | None = None


def _require(condition: bool, message: str, field: str) -> None:
    if not condition:
        raise InvalidInput(message, field=field)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_threshold(value: str | Fraction) -> Fraction:
    if not isinstance(value, Fraction) and not _THRESHOLD_TEXT.fullmatch(str(value).strip()):
        raise InvalidInput(
            "write the threshold as a fraction such as '9/10' or a decimal such as '0.9'",
            field="threshold",
        )
    try:
        threshold = parse_threshold(value)
    except SpecError as exc:
        raise InvalidInput(str(exc), field="threshold") from None
    _require(
        threshold.denominator <= MAX_THRESHOLD_DENOMINATOR,
        f"the threshold's denominator is at most {MAX_THRESHOLD_DENOMINATOR} (12 decimals)",
        "threshold",
    )
    return threshold


def _validate(data: CompetitionInput, now: datetime) -> Fraction:
    try:
        validate_slug(data.slug)
    except ValidationError:
        raise InvalidInput(
            "the slug may hold only letters, digits, hyphens and underscores", field="slug"
        ) from None
    _require(0 < len(data.slug) <= 64, "the slug has 1 to 64 characters", "slug")
    _require(0 < len(data.title.strip()) <= MAX_TITLE, "the title has 1 to 200 characters", "title")
    for name in ("description", "rules", "data_description"):
        _require(
            len(getattr(data, name)) <= MAX_TEXT,
            f"the {name.replace('_', ' ')} has at most {MAX_TEXT} characters",
            name,
        )
    _require(
        len(data.data_licence) <= MAX_LICENCE,
        f"the licence has at most {MAX_LICENCE} characters",
        "data_licence",
    )

    shape = tuple(data.input_shape)
    _require(
        1 <= len(shape) <= 3 and all(_is_int(d) and 1 <= d <= arch_limits.MAX_DIM for d in shape),
        f"the input shape has 1 to 3 dimensions, each in 1..{arch_limits.MAX_DIM}",
        "input_shape",
    )
    _require(
        int(np.prod(shape)) <= arch_limits.MAX_ACTIVATION_ELEMENTS,
        "the input shape is too large",
        "input_shape",
    )
    # The competition spec (and so every proof) encodes the range with 32-bit bounds.
    _require(
        -(2**31) <= data.input_min <= data.input_max < 2**31,
        "the input range needs -2^31 <= input_min <= input_max < 2^31",
        "input_max",
    )
    _require(
        _is_int(data.input_scale) and 1 <= data.input_scale <= MAX_INPUT_SCALE,
        f"the input scale is an integer from 1 to {MAX_INPUT_SCALE}",
        "input_scale",
    )
    _require(
        2 <= data.num_classes <= datasets.MAX_CLASSES,
        f"the number of classes is 2 to {datasets.MAX_CLASSES}",
        "num_classes",
    )
    if isinstance(data.threshold, float):
        # A float has already lost the organizer's exact intent (0.9 is not 9/10).
        raise InvalidInput("give the threshold as a string such as '9/10'", field="threshold")
    threshold = _parse_threshold(data.threshold)
    _require(
        1 <= data.max_parameters <= arch_limits.MAX_PARAMETERS,
        f"the parameter limit is 1 to {arch_limits.MAX_PARAMETERS}",
        "max_parameters",
    )
    _require(
        data.max_layers is None or 1 <= data.max_layers <= arch_limits.MAX_LAYERS,
        f"the layer limit is 1 to {arch_limits.MAX_LAYERS}",
        "max_layers",
    )
    _require(
        1 <= data.commitment_cap <= MAX_COMMITMENT_CAP,
        f"the commitment cap is 1 to {MAX_COMMITMENT_CAP}",
        "commitment_cap",
    )
    _require(
        1 <= data.submission_limit <= MAX_SUBMISSION_LIMIT,
        f"the submission limit is 1 to {MAX_SUBMISSION_LIMIT}",
        "submission_limit",
    )
    for name, what in (("max_prove_seconds", "proving"), ("max_verify_seconds", "verifying")):
        _require(
            _is_int(getattr(data, name)) and 1 <= getattr(data, name) <= MAX_BUDGET_SECONDS,
            f"the budget for {what} is 1 to {MAX_BUDGET_SECONDS:,} seconds",
            name,
        )
    if data.max_proof_bytes is not None:
        most = max_budget_proof_bytes()
        _require(
            _is_int(data.max_proof_bytes) and 1 <= data.max_proof_bytes <= most,
            f"the budget for the proof's size is 1 to {most:,} bytes (the site accepts proof "
            f"files of at most {settings.MAX_PROOF_BYTES:,} bytes)",
            "max_proof_bytes",
        )
    for name in ("reveal_at", "proof_deadline"):
        _require(timezone.is_aware(getattr(data, name)), "times need a time zone", name)
    _require(data.reveal_at > now, "the reveal time must be in the future", "reveal_at")
    _require(
        data.proof_deadline > data.reveal_at,
        "the proof deadline must come after the reveal",
        "proof_deadline",
    )
    return threshold


def _authorities(data: CompetitionInput) -> list[dict]:
    try:
        authorities = timestamps.authorities_from_list(list(data.timestamp_authorities or ()))
    except timestamps.AuthorityError as exc:
        raise InvalidInput(str(exc), code=ErrorCode.INVALID_TIMESTAMP_AUTHORITY,
                           field="timestamp_authorities") from None  # fmt: skip
    return [{"name": a.name, "url": a.url, "certificate": a.certificate_pem} for a in authorities]


def create_competition(
    *, organizer: User, data: CompetitionInput, now: datetime | None = None
) -> Competition:
    """A new competition in the draft phase (it opens when its test set is uploaded)."""
    now = now or timezone.now()
    if not organizer.can_organize():
        raise NotPermitted(
            "only organizers may create competitions", code=ErrorCode.NOT_AN_ORGANIZER
        )
    threshold = _validate(data, now)
    authorities = _authorities(data)
    try:
        with transaction.atomic():
            return Competition.objects.create(
                slug=data.slug,
                title=data.title.strip(),
                description=data.description,
                rules=data.rules,
                data_description=data.data_description,
                data_licence=data.data_licence.strip(),
                organizer=organizer,
                input_shape=list(data.input_shape),
                input_min=data.input_min,
                input_max=data.input_max,
                input_scale=data.input_scale,
                num_classes=data.num_classes,
                threshold_numerator=threshold.numerator,
                threshold_denominator=threshold.denominator,
                max_parameters=data.max_parameters,
                max_layers=data.max_layers,
                commitment_cap=data.commitment_cap,
                submission_limit=data.submission_limit,
                max_prove_seconds=data.max_prove_seconds,
                max_verify_seconds=data.max_verify_seconds,
                max_proof_bytes=(
                    default_budget_proof_bytes()
                    if data.max_proof_bytes is None
                    else data.max_proof_bytes
                ),
                reveal_at=data.reveal_at,
                proof_deadline=data.proof_deadline,
                created_at=now,
                timestamp_authorities=authorities,
            )
    except IntegrityError:
        if Competition.objects.filter(slug=data.slug).exists():
            raise Conflict(
                f"the slug {data.slug!r} is taken", code=ErrorCode.SLUG_TAKEN, field="slug"
            ) from None
        raise


def _load_test_set(competition: Competition, upload: Upload, expected_sha256: str | None):
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise InvalidInput(
            "the test set must be an .npz (arrays x and y) or a .csv file (label first)",
            code=ErrorCode.INVALID_TEST_SET,
            field="file",
        )
    limit = settings.MAX_TEST_SET_BYTES
    declared = {
        "input_shape": tuple(competition.input_shape),
        "num_classes": competition.num_classes,
        "input_range": competition.input_range,
        "max_file_bytes": limit,
        # The arrays as stored (int64, decompressed) obey the same limit as the upload: a
        # small compressed .npz must not become a stored file many times the limit.
        "max_data_bytes": limit,
    }
    with spool_to_tempfile(
        upload, limit=limit, what="test set", field="file", expected_sha256=expected_sha256
    ) as tmp:
        try:
            if suffix == ".npz":
                return datasets.load_npz(tmp.name, **declared)
            return datasets.load_csv(tmp.name, header=datasets.csv_has_header(tmp.name), **declared)
        except datasets.DatasetTooLarge as exc:
            raise TooLarge(
                f"the test set is too large: {exc}", code=ErrorCode.FILE_TOO_LARGE, field="file"
            ) from None
        except datasets.DatasetError as exc:
            raise InvalidInput(
                f"the test set does not fit the competition: {exc}",
                code=ErrorCode.INVALID_TEST_SET,
                field="file",
            ) from None
        except UnicodeDecodeError:
            raise InvalidInput(
                "the CSV file is not UTF-8 text", code=ErrorCode.INVALID_TEST_SET, field="file"
            ) from None


def upload_test_set(
    competition: Competition,
    *,
    by: User,
    upload: Upload,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> Competition:
    """Validate the test set against the declared shape, classes and input range, store
    its canonical .npz and publish its salted digest.

    Allowed for the organizer only, before the reveal, and only while no commitment exists
    (a commitment is bound to the digest, DESIGN §1).
    """
    if by.pk != competition.organizer_id:
        raise NotPermitted(
            "only the organizer may upload the test set", code=ErrorCode.NOT_ORGANIZER
        )
    # Parsing and hashing happen before any lock or write: a bad file changes nothing.
    x, y = _load_test_set(competition, upload, expected_sha256)
    salt = datasets.new_salt()
    digest = datasets.salted_digest(x, y, salt).hex()
    buffer = io.BytesIO()
    datasets.save_npz(buffer, x, y)

    stored_name = None
    try:
        with transaction.atomic():
            locked = Competition.objects.select_for_update().get(pk=competition.pk)
            now = now or timezone.now()
            if now >= locked.reveal_at:
                raise Conflict(
                    "the test set cannot change once the reveal time has passed",
                    code=ErrorCode.TEST_SET_LOCKED,
                )
            # The commitment path locks this competition row too, so no commitment can
            # slip in between this check and the update.
            if locked.commitments.exists():
                raise Conflict(
                    "the test set cannot change: commitments bound to its digest exist",
                    code=ErrorCode.TEST_SET_LOCKED,
                )
            previous = locked.test_set_file.name
            stored_name = default_storage.save(
                f"test-sets/{locked.uuid}/{digest}.npz", ContentFile(buffer.getvalue())
            )
            locked.test_set_file.name = stored_name
            locked.test_set_digest = digest
            locked.test_set_salt = salt.hex()
            locked.test_set_num_samples = int(x.shape[0])
            locked.test_set_uploaded_at = now
            locked.save(
                update_fields=[
                    "test_set_file",
                    "test_set_digest",
                    "test_set_salt",
                    "test_set_num_samples",
                    "test_set_uploaded_at",
                ]
            )
            if previous and previous != stored_name:
                transaction.on_commit(lambda: default_storage.delete(previous), robust=True)
    except BaseException:
        # The row was rolled back; the file must not outlive it.
        if stored_name:
            default_storage.delete(stored_name)
        raise
    log.info("test set of %s uploaded: N=%d digest=%s", locked.slug, x.shape[0], digest)
    return locked

"""Training-data files: the organizer publishes them (any format: .npz, .csv, .zip, a
baseline notebook); everyone who may see the competition downloads them."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Competition, DataFile, User
from .errors import Conflict, ErrorCode, InvalidInput, NotPermitted
from .uploads import Upload, hash_upload

log = logging.getLogger(__name__)

# Plain file names only: letters, digits, dot, dash, underscore; no path, no hidden file.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_DESCRIPTION = 500


def clean_name(raw: str | None) -> str:
    name = PurePath((raw or "").replace("\\", "/")).name
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "name the file with letters, digits, '.', '-' and '_' only (at most 128 "
            "characters, not starting with a dot)",
            code=ErrorCode.INVALID_DATA_FILE,
            field="name",
        )
    return name


def upload_data_file(
    competition: Competition,
    *,
    by: User,
    upload: Upload,
    name: str | None = None,
    description: str = "",
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> DataFile:
    """Store one training-data file; refused for anyone but the organizer, past the size
    limit, beyond the per-competition count, or under a name already used."""
    if by.pk != competition.organizer_id:
        raise NotPermitted(
            "only the organizer may publish training data", code=ErrorCode.NOT_ORGANIZER
        )
    name = clean_name(name or upload.name)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"the description has at most {MAX_DESCRIPTION} characters", field="description"
        )
    digest, size = hash_upload(
        upload,
        limit=settings.MAX_DATA_FILE_BYTES,
        what="data file",
        field="file",
        expected_sha256=expected_sha256,
    )
    stored = None
    try:
        with transaction.atomic():
            locked = Competition.objects.select_for_update().get(pk=competition.pk)
            if locked.data_files.count() >= settings.MAX_DATA_FILES:
                raise Conflict(
                    f"a competition holds at most {settings.MAX_DATA_FILES} data files",
                    code=ErrorCode.TOO_MANY_DATA_FILES,
                )
            if locked.data_files.filter(name=name).exists():
                raise Conflict(
                    f"a data file named {name!r} exists already",
                    code=ErrorCode.DATA_FILE_EXISTS,
                    field="name",
                )
            upload.seek(0)
            stored = default_storage.save(f"data/{locked.uuid}/{digest[:16]}-{name}", upload)
            record = DataFile.objects.create(
                competition=locked,
                name=name,
                description=description.strip(),
                file=stored,
                size=size,
                sha256=digest,
                uploaded_at=now or timezone.now(),
            )
    except IntegrityError:
        if stored:
            default_storage.delete(stored)
        raise Conflict(
            f"a data file named {name!r} exists already",
            code=ErrorCode.DATA_FILE_EXISTS,
            field="name",
        ) from None
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    log.info("data file %s of %s stored (%d bytes)", name, competition.slug, size)
    return record

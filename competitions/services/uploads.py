"""Reading uploaded files safely: bounded in size, optionally checked against a digest."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from typing import IO, Protocol

from .errors import ErrorCode, InvalidInput, TooLarge


class Upload(Protocol):
    """What the services need of an uploaded file (Django's UploadedFile has it)."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...

    def read(self, size: int = -1) -> bytes: ...

    def seek(self, offset: int, whence: int = 0) -> int: ...


def _check_declared_size(upload: Upload, limit: int, what: str, field: str) -> None:
    if upload.size is not None and upload.size > limit:
        raise TooLarge(
            f"the {what} is {upload.size} bytes; the limit is {limit}",
            code=ErrorCode.FILE_TOO_LARGE,
            field=field,
        )


def _check_digest(actual: str, expected: str | None, what: str, field: str) -> None:
    if expected is not None and expected.strip().lower() != actual:
        raise InvalidInput(
            f"the {what} does not match the SHA-256 you sent (received {actual})",
            code=ErrorCode.DIGEST_MISMATCH,
            field=field,
        )


def check_declared_size(upload: Upload, *, limit: int, what: str, field: str) -> None:
    """413 from the size the upload declares, before anything of it is read."""
    _check_declared_size(upload, limit, what, field)


def read_prefix(upload: Upload, n: int) -> bytes:
    """The first ``n`` bytes of the upload (fewer if it is shorter); nothing else is read."""
    upload.seek(0)
    data = upload.read(n)
    upload.seek(0)
    return data


def _bounded_chunks(upload: Upload, limit: int, what: str, field: str):
    """The upload's chunks, refused (413) from its declared size, then as soon as more than
    ``limit`` bytes have been read; an empty upload is refused at the end."""
    _check_declared_size(upload, limit, what, field)
    total = 0
    for chunk in upload.chunks():
        total += len(chunk)
        if total > limit:
            raise TooLarge(
                f"the {what} exceeds the limit of {limit} bytes",
                code=ErrorCode.FILE_TOO_LARGE,
                field=field,
            )
        yield chunk
    if total == 0:
        raise InvalidInput(f"the {what} is empty", code=ErrorCode.EMPTY_FILE, field=field)


def hash_upload(
    upload: Upload, *, limit: int, what: str, field: str, expected_sha256: str | None = None
) -> tuple[str, int]:
    """(SHA-256 hex, size) of the upload, read in chunks and refused past ``limit`` bytes;
    nothing is kept in memory."""
    h, total = hashlib.sha256(), 0
    for chunk in _bounded_chunks(upload, limit, what, field):
        total += len(chunk)
        h.update(chunk)
    digest = h.hexdigest()
    _check_digest(digest, expected_sha256, what, field)
    return digest, total


def read_bytes(
    upload: Upload, *, limit: int, what: str, field: str, expected_sha256: str | None = None
) -> bytes:
    """The whole upload in memory; refused past ``limit`` bytes, counted as it is read."""
    data = b"".join(_bounded_chunks(upload, limit, what, field))
    _check_digest(hashlib.sha256(data).hexdigest(), expected_sha256, what, field)
    return data


def spool_to_tempfile(
    upload: Upload, *, limit: int, what: str, field: str, expected_sha256: str | None = None
) -> IO[bytes]:
    """Copy the upload into an anonymous temporary file (for loaders that want a path).

    The caller closes it; the file is deleted on close.
    """
    _check_declared_size(upload, limit, what, field)  # before the file is even created
    tmp = tempfile.NamedTemporaryFile(prefix="zkarena-upload-", suffix=".bin")  # noqa: SIM115
    try:
        h = hashlib.sha256()
        for chunk in _bounded_chunks(upload, limit, what, field):
            h.update(chunk)
            tmp.write(chunk)
        _check_digest(h.hexdigest(), expected_sha256, what, field)
        tmp.flush()
        return tmp
    except BaseException:
        tmp.close()
        raise

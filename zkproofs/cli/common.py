"""What every command shares: the usage error, exit codes, and the files a competitor or
organizer keeps (competition specs, salts, test sets, commitment records, secret key files)."""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path

from .. import accuracy
from ..competition import CompetitionSpec, SpecError
from ..ml import datasets

COMMITMENT_FILE_VERSION = 1
EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT, EXIT_NETWORK = 0, 1, 2, 3
EXIT_CODES_HELP = """exit codes:
  0  success (verify: the proof is VALID)
  1  the proof is INVALID (verify), or was rejected by the site (status/submit --wait)
  2  bad input or usage; a refusal by the site (wrong password, expired token, unknown
     competition, commitment after the reveal, proof before it, …)
  3  network or server error (site unreachable, timeout, 5xx), or --wait ran out of time
"""
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


# ------------------------------------------------------------------ files


def read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None


def load_spec(path: str) -> CompetitionSpec:
    try:
        return CompetitionSpec.from_json(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except SpecError as exc:
        raise UsageError(f"{path}: {exc}") from None


def default_salt_path(competition_path: str) -> Path:
    p = Path(competition_path)
    return p.with_name(p.stem + ".salt")


def load_salt(path: str | Path) -> bytes:
    try:
        text = Path(path).read_text().strip()
        salt = bytes.fromhex(text)
    except OSError as exc:
        raise UsageError(
            f"cannot read the test-set salt {path}: {exc.strerror} (the organizer publishes it "
            "with the test set at the reveal; pass it with --salt-file)"
        ) from None
    except ValueError:
        raise UsageError(f"{path} does not hold a hex salt") from None
    if len(salt) != datasets.SALT_BYTES:
        raise UsageError(f"{path}: a salt is {datasets.SALT_BYTES} bytes")
    return salt


def load_test_set(path: str):
    try:
        if path.endswith(".csv"):
            return datasets.load_csv(path, header=datasets.csv_has_header(path))
        return datasets.load_npz(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except datasets.DatasetError as exc:
        raise UsageError(f"{path}: {exc}") from None


def write_private(path: str, data: bytes, force: bool) -> None:
    """Owner-only file (0600), never silently overwritten: a key file holds the weights."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; pass --force to overwrite it") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(obj: dict, key: str, path: str) -> bytes:
    try:
        return base64.b64decode(obj[key], validate=True)
    except (KeyError, ValueError, TypeError):
        raise UsageError(f"{path}: missing or malformed field {key!r}") from None


def commitment_document(spec, submitter, committed: accuracy.CommittedModel, arch) -> dict:
    return {
        "version": COMMITMENT_FILE_VERSION,
        "competition_id": str(spec.competition_id),
        "competition_digest": spec.digest().hex(),
        "submitter_id": str(submitter),
        "architecture": b64(committed.architecture),
        "architecture_digest": arch.digest().hex(),
        "architecture_summary": arch.describe(),
        "parameters": arch.weight_count,
        "commitment": b64(committed.commitment),
        "commitment_digest": committed.commitment_digest.hex(),
        "knowledge_proof": b64(committed.knowledge_proof),
    }


def load_commitment(path: str) -> dict:
    doc = read_json(path)
    if doc.get("version") != COMMITMENT_FILE_VERSION:
        raise UsageError(f"{path}: unsupported commitment file version {doc.get('version')}")
    return {
        "architecture": unb64(doc, "architecture", path),
        "commitment": unb64(doc, "commitment", path),
        "knowledge_proof": unb64(doc, "knowledge_proof", path),
        "submitter_id": doc.get("submitter_id"),
    }


def parse_submitter(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UsageError(f"the submitter id must be a UUID, got {text!r}") from None

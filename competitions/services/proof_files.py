"""What the web process checks of an uploaded proof file: its header and its length, never
its body.

A proof file (``zkproofs.accuracy.AccuracyProof.to_bytes()``) is a fixed header naming the
proof's context, then the proof itself::

    "ZKPF" ‖ u16 version ‖ competition digest (32) ‖ submitter UUID (16)
    ‖ architecture digest (32) ‖ commitment digest (32) ‖ u32 claim ‖ u32 N ‖ u64 proof length
    ‖ proof

The site reads the header alone (``PROOF_HEADER_BYTES``), checks the context it names
against the competition, the account and the commitment record, and the body's length,
before it reads, hashes or stores the rest. Points are decoded once, by the verification
worker: decoding tens of thousands of points costs seconds, and a request must not cost
that before it is known to come from the commitment's owner with a well-formed claim.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from django.conf import settings

from zkproofs.accuracy import (
    PROOF_FILE_MAGIC,
    PROOF_FILE_VERSIONS,
    RETIRED_VERSIONS,
    expected_proof_bytes,
)

from ..models import Competition, ModelCommitment
from .errors import ErrorCode, InvalidInput, TooLarge

_LAYOUT = struct.Struct(">4sH32s16s32s32sIIQ")
PROOF_HEADER_BYTES = _LAYOUT.size  # 134


@dataclass(frozen=True)
class ProofHeader:
    competition_digest: bytes
    submitter_id: uuid.UUID
    architecture_digest: bytes
    commitment_digest: bytes
    claimed: int
    num_samples: int
    body_length: int  # the proof's length, as the header declares it
    version: int = 2  # the protocol of the proof inside

    @property
    def total_length(self) -> int:
        return PROOF_HEADER_BYTES + self.body_length


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(
        f"the proof is not a valid zkarena proof file: {reason}",
        code=ErrorCode.MALFORMED_PROOF,
        field="proof",
    )


def read_header(prefix: bytes) -> ProofHeader:
    """Parse the fixed header of a proof file (the first ``PROOF_HEADER_BYTES`` bytes)."""
    if len(prefix) < PROOF_HEADER_BYTES:
        raise _malformed(f"it has {len(prefix)} bytes, shorter than the header")
    magic, version, comp, sub, arch, com, claimed, n, length = _LAYOUT.unpack(
        prefix[:PROOF_HEADER_BYTES]
    )
    if magic != PROOF_FILE_MAGIC:
        raise _malformed("wrong magic (not written by `zkarena prove`)")
    if version in RETIRED_VERSIONS:
        raise _malformed(f"it is a proof file of version {version}, {RETIRED_VERSIONS[version]}; "
                         "prove again with this release's `zkarena prove`")
    if version not in PROOF_FILE_VERSIONS:
        raise _malformed(f"unsupported proof file version {version}")
    return ProofHeader(comp, uuid.UUID(bytes=sub), arch, com, claimed, n, length, version)


def max_body_bytes() -> int:
    """The hard upper bound on a proof's length: what MAX_PROOF_BYTES leaves after the
    header."""
    return settings.MAX_PROOF_BYTES - PROOF_HEADER_BYTES


def check_body_length(
    header: ProofHeader, *, competition: Competition, commitment: ModelCommitment
) -> None:
    """Refuse a proof whose declared length cannot be right, before any of it is read.

    This is the one place where the size of a proof is judged: first the hard bound
    (``MAX_PROOF_BYTES``), then the exact length the architecture stored with the
    commitment and N give (``zkproofs.accuracy.expected_proof_bytes``, from public data
    alone, nothing decoded)."""
    limit = max_body_bytes()
    if header.body_length > limit:
        raise TooLarge(
            f"the proof declares {header.body_length} bytes; the limit is {limit}",
            code=ErrorCode.FILE_TOO_LARGE,
            field="proof",
        )
    if header.body_length == 0:
        raise _malformed("the header declares an empty proof")
    expected = expected_proof_bytes(bytes(commitment.architecture), competition.spec())
    if header.total_length != expected:
        raise _malformed(
            f"the header declares {header.total_length} bytes; a proof for the committed "
            f"architecture and this test set has exactly {expected}"
        )


def check_total_length(header: ProofHeader, actual: int) -> None:
    """The file must be exactly the header plus the length it declares."""
    if actual != header.total_length:
        raise _malformed(
            f"the file has {actual} bytes, its header declares {header.total_length} "
            "(truncated, or bytes after the proof)"
        )

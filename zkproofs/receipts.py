"""Server-signed commitment receipts: evidence, checkable offline, that a commitment was
registered before the reveal.

A receipt states (competition id, submitter id, architecture digest, SHA-256 of the
commitment's canonical bytes, registration time in UTC microseconds). The site signs it
with a Schnorr signature in BLS12-381 G1 (the same group and backends as the proofs, so the
pure-Python reference backend verifies it too):

    key: x ∈ Fr, public X = x·B, B = H2C("zkarena/v1/receipt-base")
    sign: k from a DRBG keyed by the OS and hedged with (x, message); R = k·B;
          e = H(X, R, message) mod r; s = k + e·x; signature = enc(R) ‖ enc(s)
    verify: s·B = R + e·X
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from . import field
from .curve import get_backend
from .curve.base import PointDecodeError
from .errors import VerificationError
from .params import GENERATOR_DST
from .rng import ProverRandomness
from .transcript import Transcript

RECEIPT_VERSION = 1
SIGNATURE_BYTES = 48 + 32
_BASE_MESSAGE = b"zkarena/v1/receipt-base"


def _base(backend_name: str):
    grp = get_backend(backend_name)
    return grp, grp.hash_to_curve(_BASE_MESSAGE, GENERATOR_DST)


@dataclass(frozen=True)
class Receipt:
    competition_id: uuid.UUID
    submitter_id: uuid.UUID
    architecture_digest: bytes
    commitment_digest: bytes
    committed_at: datetime

    def __post_init__(self):
        if len(self.architecture_digest) != 32 or len(self.commitment_digest) != 32:
            raise ValueError("receipt digests are 32 bytes")
        if self.committed_at.tzinfo is None:
            raise ValueError("a receipt time must be timezone-aware")

    @property
    def timestamp_us(self) -> int:
        delta = self.committed_at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def canonical_bytes(self) -> bytes:
        return b"".join(
            [
                b"zkarena/receipt",
                struct.pack(">H", RECEIPT_VERSION),
                self.competition_id.bytes,
                self.submitter_id.bytes,
                self.architecture_digest,
                self.commitment_digest,
                struct.pack(">q", self.timestamp_us),
            ]
        )


class ReceiptSigningKey:
    """The site's secret key (a scalar). Keep it out of the database and the repository."""

    def __init__(self, secret: int):
        if not 0 < secret < field.MODULUS:
            raise ValueError("a signing key is a non-zero scalar")
        self._secret = secret

    @classmethod
    def generate(cls) -> ReceiptSigningKey:
        return cls(ProverRandomness().scalar() or 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReceiptSigningKey:
        return cls(field.decode_scalar(data))

    def to_bytes(self) -> bytes:
        return field.encode_scalar(self._secret)

    def public_key(self, backend: str = "native") -> bytes:
        grp, base = _base(backend)
        return grp.encode(grp.mul(base, self._secret))

    def sign(self, receipt: Receipt, backend: str = "native") -> bytes:
        grp, base = _base(backend)
        message = receipt.canonical_bytes()
        public = grp.encode(grp.mul(base, self._secret))
        rng = ProverRandomness()
        rng.hedge(b"key", self.to_bytes())
        rng.hedge(b"message", hashlib.sha512(message).digest())
        k = rng.scalar()
        R = grp.encode(grp.mul(base, k))
        e = _challenge(public, R, message)
        s = (k + e * self._secret) % field.MODULUS
        return R + field.encode_scalar(s)


def _challenge(public: bytes, R: bytes, message: bytes) -> int:
    t = Transcript(b"zkarena/receipt-signature/v1")
    t.absorb(b"public-key", public)
    t.absorb(b"R", R)
    t.absorb(b"message", message)
    return t.challenge_scalar(b"e")


def verify_receipt(
    public_key: bytes, receipt: Receipt, signature: bytes, backend: str = "native"
) -> None:
    """Raise VerificationError unless ``signature`` is the site's signature on ``receipt``."""
    grp, base = _base(backend)
    if len(signature) != SIGNATURE_BYTES:
        raise VerificationError(f"a receipt signature is {SIGNATURE_BYTES} bytes")
    try:
        X = grp.decode(public_key)
        R = grp.decode(signature[:48])
        s = field.decode_scalar(signature[48:])
    except (PointDecodeError, field.ScalarDecodeError) as exc:
        raise VerificationError(f"malformed receipt signature or key: {exc}") from None
    if grp.is_identity(X):
        raise VerificationError("the receipt public key is the identity")
    e = _challenge(public_key, signature[:48], receipt.canonical_bytes())
    if not grp.eq(grp.mul(base, s), grp.add(R, grp.mul(X, e))):
        raise VerificationError("the receipt signature does not verify")

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

The signer multiplies B by secrets (k for every signature, x once for the public key), and
the backends' scalar multiplication takes time that depends on the scalar (arkworks'
double-and-add skips leading zeros and adds per set bit: 59 µs for a 255-bit scalar of low
weight, 122 µs for one of high weight), which leaks bits of the nonce, and a few leaked bits
per signature are enough to recover x from enough signatures (lattice attacks on biased
nonces). So secrets never go through ``mul``: ``_fixed_base_mul`` computes k·B from a table
of multiples of B with the same 63 point additions, on non-identity points, whatever k is.
Verification multiplies public values only and is unchanged.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _base(backend_name: str):
    grp = get_backend(backend_name)
    return grp, grp.hash_to_curve(_BASE_MESSAGE, GENERATOR_DST)


# ------------------------------------------------------------------ fixed-base multiplication
# k·B as Σ_i T[i][d_i], the digits d_i of k − OFFSET in base 16, with T[i][d] = (d + 1)·16^i·B
# and OFFSET = Σ_i 16^i: every one of the 64 terms is a non-zero multiple of B, so the
# schedule (63 additions, table lookups) is the same for every k. Python's list indexing
# still touches memory at secret-dependent places; that leaks far less than a variable
# number of group operations, and nothing an attacker timing the site can see through the
# noise of a web request.
_WINDOW_BITS = 4
_WINDOWS = 64  # 64 × 4 bits cover every scalar below r < 2^255
_DIGITS = 1 << _WINDOW_BITS
_OFFSET = sum(_DIGITS**i for i in range(_WINDOWS))


@functools.cache
def _comb_table(backend_name: str) -> tuple[tuple, ...]:
    grp, base = _base(backend_name)
    rows = []
    row_base = base
    for _ in range(_WINDOWS):
        row = [row_base]
        for _ in range(_DIGITS - 1):
            row.append(grp.add(row[-1], row_base))
        rows.append(tuple(row))
        row_base = row[-1]  # 16 · 16^i · B = 16^(i+1) · B
    return tuple(rows)


def _fixed_base_mul(backend_name: str, k: int):
    """k·B with a schedule independent of k (see above)."""
    grp, _ = _base(backend_name)
    table = _comb_table(backend_name)
    digits = (k - _OFFSET) % field.MODULUS
    acc = table[0][digits & (_DIGITS - 1)]
    for i in range(1, _WINDOWS):
        digits >>= _WINDOW_BITS
        acc = grp.add(acc, table[i][digits & (_DIGITS - 1)])
    return acc


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
        self._public: dict[str, bytes] = {}  # per backend, computed once

    @classmethod
    def generate(cls) -> ReceiptSigningKey:
        return cls(ProverRandomness().scalar() or 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReceiptSigningKey:
        return cls(field.decode_scalar(data))

    def to_bytes(self) -> bytes:
        return field.encode_scalar(self._secret)

    def public_key(self, backend: str = "native") -> bytes:
        if backend not in self._public:
            grp, _ = _base(backend)
            self._public[backend] = grp.encode(_fixed_base_mul(backend, self._secret))
        return self._public[backend]

    def sign(
        self, receipt: Receipt, backend: str = "native", *, rng: ProverRandomness | None = None
    ) -> bytes:
        """Sign ``receipt``. ``rng`` is for tests only (``ProverRandomness.for_tests``): the
        nonce is always hedged with the key and the message."""
        return self.sign_message(receipt.canonical_bytes(), backend, rng=rng)

    def sign_message(
        self, message: bytes, backend: str = "native", *, rng: ProverRandomness | None = None
    ) -> bytes:
        """Sign any message of the site's: a receipt, a signed tree head of the commitment
        log (``zkproofs.commitlog``). Each kind starts with its own tag ("zkarena/receipt",
        "zkarena/tree-head"), so no message of one kind is a message of another."""
        grp, _ = _base(backend)
        public = self.public_key(backend)
        rng = rng or ProverRandomness()
        rng.hedge(b"key", self.to_bytes())
        rng.hedge(b"message", hashlib.sha512(message).digest())
        k = rng.scalar()
        R = grp.encode(_fixed_base_mul(backend, k))
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
    verify_message(public_key, receipt.canonical_bytes(), signature, backend, what="receipt")


def verify_message(
    public_key: bytes, message: bytes, signature: bytes, backend: str = "native", *,
    what: str = "message",
) -> None:
    """Raise VerificationError unless ``signature`` is the site's signature on ``message``."""
    grp, base = _base(backend)
    if len(signature) != SIGNATURE_BYTES:
        raise VerificationError(f"a {what} signature is {SIGNATURE_BYTES} bytes")
    try:
        X = grp.decode(public_key)
        R = grp.decode(signature[:48])
        s = field.decode_scalar(signature[48:])
    except (PointDecodeError, field.ScalarDecodeError) as exc:
        raise VerificationError(f"malformed {what} signature or key: {exc}") from None
    if grp.is_identity(X):
        raise VerificationError(f"the {what} public key is the identity")
    e = _challenge(public_key, signature[:48], message)
    if not grp.eq(grp.mul(base, s), grp.add(R, grp.mul(X, e))):
        raise VerificationError(f"the {what} signature does not verify")

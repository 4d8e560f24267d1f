"""Versioned binary encodings of weight commitments, their proofs of knowledge and openings.
(An accuracy proof's own encoding is zkproofs.proofstream, its file header accuracy.py.)

Every encoding starts with a 4-byte magic and a big-endian u16 version; lengths are
fixed-width big-endian integers. Points are 48-byte compressed encodings decoded strictly
(length, flags, x < p, on the curve, in the subgroup, re-encoding equal); scalars are 32
bytes little-endian and canonical (< r). A decoder computes the exact total length from
the header, bounded, before it allocates anything, and rejects trailing bytes.
"""

from __future__ import annotations

import struct

import numpy as np

from . import field
from .curve.base import POINT_BYTES, GroupBackend, PointDecodeError
from .errors import FormatError
from .params import Params
from .weights import OpeningKnowledgeProof, WeightCommitment, WeightOpening

VERSION = 1
MAGIC_WEIGHT_COMMITMENT = b"ZKCW"
MAGIC_KNOWLEDGE_PROOF = b"ZKPK"
MAGIC_OPENING = b"ZKWO"

MAX_ROWS = 1 << 20
MAX_WEIGHTS = 1 << 28
S = field.SCALAR_BYTES
P = POINT_BYTES


# ------------------------------------------------------------------ low-level reader/writer


class _Writer:
    def __init__(self, grp: GroupBackend):
        self.grp = grp
        self.parts: list[bytes] = []

    def raw(self, b: bytes) -> None:
        self.parts.append(b)

    def u32(self, n: int) -> None:
        self.parts.append(struct.pack(">I", n))

    def point(self, p) -> None:
        self.parts.append(self.grp.encode(p))

    def points(self, ps) -> None:
        for p in ps:
            self.point(p)

    def scalar(self, x: int) -> None:
        self.parts.append(field.encode_scalar(x))

    def vector(self, v: np.ndarray) -> None:
        self.parts.append(field.encode_vec(v))

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class _Reader:
    def __init__(self, data: bytes, grp: GroupBackend):
        self.data = memoryview(bytes(data))
        self.pos = 0
        self.grp = grp

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError("truncated encoding")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def point(self):
        raw = self.take(P)
        try:
            return self.grp.decode(raw)
        except PointDecodeError as exc:
            raise FormatError(f"invalid point at byte {self.pos - P}: {exc}") from None

    def points(self, n: int) -> tuple:
        return tuple(self.point() for _ in range(n))

    def scalar(self) -> int:
        try:
            return field.decode_scalar(self.take(S))
        except field.ScalarDecodeError as exc:
            raise FormatError(f"invalid scalar at byte {self.pos - S}: {exc}") from None

    def vector(self, n: int) -> np.ndarray:
        return field.vec([self.scalar() for _ in range(n)])

    def header(self, magic: bytes, params: Params | None) -> None:
        got = self.take(4)
        if got != magic:
            raise FormatError(f"not a {magic.decode()} encoding (magic {got!r})")
        (version,) = struct.unpack(">H", self.take(2))
        if version != VERSION:
            raise FormatError(f"unsupported {magic.decode()} version {version}")
        if params is not None and self.take(32) != params.params_id:
            raise FormatError("encoded under another parameter set (params_id differs)")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise FormatError(f"{len(self.data) - self.pos} trailing bytes")


def _header(w: _Writer, magic: bytes, params: Params | None) -> None:
    w.raw(magic + struct.pack(">H", VERSION))
    if params is not None:
        w.raw(params.params_id)


def _expect_length(data: bytes, expected: int) -> None:
    if len(data) != expected:
        raise FormatError(f"expected {expected} bytes, got {len(data)}")


HEADER = 4 + 2 + 32

# ------------------------------------------------------------------ weight commitment


def encode_weight_commitment(params: Params, c: WeightCommitment) -> bytes:
    """Canonical bytes of C_W: the platform's uniqueness key for a commitment."""
    w = _Writer(params.backend)
    _header(w, MAGIC_WEIGHT_COMMITMENT, params)
    w.u32(len(c.rows))
    w.points(c.rows)
    return w.bytes()


def decode_weight_commitment(params: Params, data: bytes) -> WeightCommitment:
    r = _Reader(data, params.backend)
    r.header(MAGIC_WEIGHT_COMMITMENT, params)
    n = r.u32()
    if not 1 <= n <= MAX_ROWS:
        raise FormatError(f"weight commitment row count {n} out of range")
    _expect_length(data, HEADER + 4 + n * P)
    c = WeightCommitment(r.points(n))
    r.end()
    return c


def encode_knowledge_proof(params: Params, p: OpeningKnowledgeProof) -> bytes:
    w = _Writer(params.backend)
    _header(w, MAGIC_KNOWLEDGE_PROOF, params)
    w.point(p.A)
    w.vector(p.z)
    w.scalar(p.z_t)
    return w.bytes()


def decode_knowledge_proof(params: Params, data: bytes) -> OpeningKnowledgeProof:
    _expect_length(data, HEADER + P + (params.row_width + 1) * S)
    r = _Reader(data, params.backend)
    r.header(MAGIC_KNOWLEDGE_PROOF, params)
    proof = OpeningKnowledgeProof(r.point(), r.vector(params.row_width), r.scalar())
    r.end()
    return proof


def encode_opening(params: Params, o: WeightOpening) -> bytes:
    """The secret key file content: padded weight values and row blinds."""
    w = _Writer(params.backend)
    _header(w, MAGIC_OPENING, params)
    w.u32(o.weight_count)
    w.u32(len(o.blinds))
    w.vector(o.values)
    for b in o.blinds:
        w.scalar(b)
    return w.bytes()


def decode_opening(params: Params, data: bytes) -> WeightOpening:
    r = _Reader(data, params.backend)
    r.header(MAGIC_OPENING, params)
    count, rows = r.u32(), r.u32()
    width = params.row_width
    if not 1 <= rows <= MAX_ROWS or not (rows - 1) * width < count <= rows * width:
        raise FormatError("opening dimensions out of range")
    _expect_length(data, HEADER + 8 + rows * params.row_width * S + rows * S)
    values = r.vector(rows * params.row_width)
    blinds = tuple(r.scalar() for _ in range(rows))
    r.end()
    if any(field.to_ints(values[count:])):
        raise FormatError("the opening's padding values are not zero")
    return WeightOpening(values, blinds, count)

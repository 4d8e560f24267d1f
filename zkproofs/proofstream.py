"""A proof as the sequence of the prover's messages (protocol v2).

The prover appends points and scalars in protocol order (``ProofWriter``); the verifier
reads them back in the same order (``ProofReader``), decoding each one strictly when it
asks for it: points are 48-byte compressed encodings checked for the curve and the
prime-order subgroup, scalars 32-byte little-endian and canonical. The verifier knows
from public data how many of each it will read, so it compares the proof's length with
the exact expected length before decoding anything, and requires every byte consumed at
the end. Items are counted, so tests can mutate any single one of them.

The sub-protocols' proof objects (sumcheck rounds, Σ-protocols) are written and read by
the helpers at the bottom, field by field in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import field, sigma, sumcheck
from .curve.base import POINT_BYTES, GroupBackend, Point, PointDecodeError
from .errors import FormatError

S = field.SCALAR_BYTES
P = POINT_BYTES


@dataclass(frozen=True)
class Size:
    """How many points and scalars a (part of a) proof holds."""

    points: int = 0
    scalars: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(self.points + other.points, self.scalars + other.scalars)

    def __mul__(self, k: int) -> Size:
        return Size(self.points * k, self.scalars * k)

    __rmul__ = __mul__

    @property
    def bytes(self) -> int:
        return self.points * P + self.scalars * S


def dot_size(n: int) -> Size:
    return Size(2, n + 2)


def sumcheck_size(rounds: int, degree: int) -> Size:
    """Protocol v2's sumcheck: one point per round, the final value, one dot product."""
    if rounds == 0:
        return Size()
    return Size(rounds + 1) + dot_size(rounds * (degree + 1))


EQUALITY = Size(1, 1)
PRODUCT = Size(3, 5)


class ProofWriter:
    """Appends messages; ``sections`` records where each named part starts (for tests and
    for people reading a proof: a list of (label, first item, first byte))."""

    def __init__(self, grp: GroupBackend):
        self.grp = grp
        self.parts: list[bytes] = []
        self.size = Size()
        self.sections: list[tuple[str, int, int]] = []

    def section(self, label: str) -> None:
        self.sections.append((label, self.size.points + self.size.scalars, self.size.bytes))

    def point(self, p: Point) -> None:
        self.parts.append(self.grp.encode(p))
        self.size += Size(1, 0)

    def points(self, ps) -> None:
        for p in ps:
            self.point(p)

    def scalar(self, x: int) -> None:
        self.parts.append(field.encode_scalar(x % field.MODULUS))
        self.size += Size(0, 1)

    def vector(self, v: np.ndarray) -> None:
        self.parts.append(field.encode_vec(v))
        self.size += Size(0, len(v))

    def item_offsets(self) -> list[tuple[int, int]]:
        """(byte offset, length) of every item, in order."""
        out, pos = [], 0
        for part in self.parts:
            step = P if len(part) == P else S
            for off in range(0, len(part), step):
                out.append((pos + off, step))
            pos += len(part)
        return out

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class ProofReader:
    """Strict sequential decoding; every failure is a FormatError naming the position."""

    def __init__(self, data: bytes, grp: GroupBackend):
        self.data = memoryview(bytes(data))
        self.pos = 0
        self.grp = grp
        self.items = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError("the proof is truncated")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def point(self) -> Point:
        raw = self._take(P)
        self.items += 1
        try:
            return self.grp.decode(raw)
        except PointDecodeError as exc:
            raise FormatError(f"invalid point at byte {self.pos - P}: {exc}") from None

    def points(self, n: int) -> list[Point]:
        return [self.point() for _ in range(n)]

    def scalar(self) -> int:
        raw = self._take(S)
        self.items += 1
        try:
            return field.decode_scalar(raw)
        except field.ScalarDecodeError as exc:
            raise FormatError(f"invalid scalar at byte {self.pos - S}: {exc}") from None

    def vector(self, n: int) -> np.ndarray:
        raw = self._take(n * S)
        self.items += n
        try:
            return field.decode_vec(raw, n)
        except field.ScalarDecodeError as exc:
            raise FormatError(
                f"invalid scalar in the vector ending at byte {self.pos}: {exc}"
            ) from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise FormatError(f"{len(self.data) - self.pos} trailing bytes after the proof")


# ------------------------------------------------------------------ sub-protocol proofs


def write_dot(w: ProofWriter, d: sigma.DotProductProof) -> None:
    w.point(d.delta)
    w.point(d.beta)
    w.vector(d.z)
    w.scalar(d.z_delta)
    w.scalar(d.z_beta)


def read_dot(r: ProofReader, n: int) -> sigma.DotProductProof:
    delta, beta = r.point(), r.point()
    return sigma.DotProductProof(delta, beta, r.vector(n), r.scalar(), r.scalar())


def write_sumcheck(w: ProofWriter, sc: sumcheck.BatchedSumcheckProof) -> None:
    w.points(sc.polys)
    if sc.polys:
        w.point(sc.final)
        write_dot(w, sc.dot)


def read_sumcheck(r: ProofReader, rounds: int, degree: int) -> sumcheck.BatchedSumcheckProof:
    if rounds == 0:
        return sumcheck.BatchedSumcheckProof((), None, None)
    polys = tuple(r.points(rounds))
    final = r.point()
    return sumcheck.BatchedSumcheckProof(polys, final, read_dot(r, rounds * (degree + 1)))


def write_equality(w: ProofWriter, e: sigma.EqualityProof) -> None:
    w.point(e.alpha)
    w.scalar(e.z)


def read_equality(r: ProofReader) -> sigma.EqualityProof:
    return sigma.EqualityProof(r.point(), r.scalar())


def write_product(w: ProofWriter, p: sigma.ProductProof) -> None:
    w.points((p.alpha, p.beta, p.delta))
    for x in p.z:
        w.scalar(x)


def read_product(r: ProofReader) -> sigma.ProductProof:
    a, b, d = r.point(), r.point(), r.point()
    return sigma.ProductProof(a, b, d, tuple(r.scalar() for _ in range(5)))

"""Deferred verification: a verifier's group equations, checked together in one MSM.

Protocol v2's verifier never computes an intermediate point. Every commitment it derives
(a homomorphic combination of the prover's commitments, generators and public scalars) is
a :class:`Lin`, a formal linear combination of points, and every verification equation of
a Σ-protocol is recorded with :meth:`Checks.require_zero` as "this Lin is the identity".
At the end, :meth:`Checks.finish` multiplies equation e by a weight w_e derived from the
transcript AND the whole proof, byte for byte, and checks Σ_e w_e·Lin_e = O with one
multi-scalar multiplication over the distinct points.

The weights must depend on every byte the prover sent, responses included: the transcript
absorbs only the prover's points (first messages, commitments), and Σ_e w_e·Lin_e is
affine in the Σ-protocols' responses (z₁ of a proof of product multiplies g directly), so
weights fixed before the responses let a prover pick a response that cancels a false
equation's error (found by review; tests/zkproofs/test_layered.py keeps that forgery).

Soundness of the batching: if some equation e has Lin_e = E_e ≠ O, then Σ_e w_e·E_e = O
for at most a 1/r fraction of weight vectors (G1 has prime order r, and w_e is a random
oracle's output on everything the equations contain), so the batch adds Q/r to the
soundness error for a prover making Q hash queries. When the batch fails, each equation is
checked on its own to name the one that failed; that costs time only on rejection.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from . import field
from .curve.base import GroupBackend, Point
from .errors import VerificationError
from .transcript import Transcript

R = field.MODULUS


class Lin:
    """Σ s_i·P_i with points kept apart (merged by identity of the point object)."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, list] | None = None):
        self.terms: dict[int, list] = terms if terms is not None else {}

    @classmethod
    def of(cls, point: Point, scalar: int = 1) -> Lin:
        return cls({id(point): [point, scalar % R]})

    @classmethod
    def sum(cls, pairs: Iterable[tuple[int, Point | Lin]]) -> Lin:
        """Σ s·X over (scalar, point or Lin) pairs."""
        out = cls()
        for s, x in pairs:
            out.iadd(x, s)
        return out

    def copy(self) -> Lin:
        return Lin({k: [p, s] for k, (p, s) in self.terms.items()})

    def iadd(self, other: Point | Lin, scale: int = 1) -> Lin:
        scale %= R
        if scale == 0:
            return self
        terms = self.terms
        if isinstance(other, Lin):
            for key, (p, s) in other.terms.items():
                entry = terms.get(key)
                if entry is None:
                    terms[key] = [p, s * scale % R]
                else:
                    entry[1] = (entry[1] + s * scale) % R
        else:
            key = id(other)
            entry = terms.get(key)
            if entry is None:
                terms[key] = [other, scale]
            else:
                entry[1] = (entry[1] + scale) % R
        return self

    def __add__(self, other: Point | Lin) -> Lin:
        return self.copy().iadd(other)

    def __sub__(self, other: Point | Lin) -> Lin:
        return self.copy().iadd(other, -1)

    def __mul__(self, scalar: int) -> Lin:
        scalar %= R
        return Lin({k: [p, s * scalar % R] for k, (p, s) in self.terms.items() if s * scalar % R})

    __rmul__ = __mul__

    def __neg__(self) -> Lin:
        return self * -1

    def point(self, grp: GroupBackend) -> Point:
        """The combination as a point (one MSM)."""
        pts = [p for p, s in self.terms.values() if s]
        scs = [s for _, s in self.terms.values() if s]
        return grp.msm(pts, scs) if pts else grp.identity()


def lin(x: Point | Lin) -> Lin:
    return x if isinstance(x, Lin) else Lin.of(x)


class Checks:
    """The equations a verifier has deferred, in the order it met them."""

    def __init__(self, grp: GroupBackend):
        self.grp = grp
        self.equations: list[tuple[str, Lin]] = []

    def require_zero(self, label: str, combination: Lin) -> None:
        self.equations.append((label, combination))

    def require_equal(self, label: str, left: Point | Lin, right: Point | Lin) -> None:
        self.equations.append((label, lin(left) - lin(right)))

    def finish(self, transcript: Transcript, sent: bytes) -> None:
        """Raise VerificationError unless every recorded equation holds. ``sent`` is
        everything the prover sent (the whole proof): the weights depend on it."""
        if not self.equations:
            return
        seed = hashlib.sha512(
            b"zkarena/batch-weights" + transcript.state_digest() + hashlib.sha512(sent).digest()
        ).digest()
        total = Lin()
        for e, (_, combination) in enumerate(self.equations):
            w = int.from_bytes(hashlib.sha512(seed + struct.pack(">Q", e)).digest(), "big") % R
            total.iadd(combination, w or 1)
        if self.grp.is_identity(total.point(self.grp)):
            return
        for label, combination in self.equations:
            if not self.grp.is_identity(combination.point(self.grp)):
                raise VerificationError(label)
        # Unreachable unless the weights happened to be orthogonal to a zero sum of errors.
        raise VerificationError("the batched verification equation does not hold")

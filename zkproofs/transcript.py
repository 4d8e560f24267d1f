"""Fiat–Shamir transcript.

One running SHA-512 state. Every absorb is framed as
``u16be(len(label)) || label || u64be(len(data)) || data`` so no two different
sequences of absorbs hash the same bytes. A challenge is the 64-byte SHA-512 digest of
the state so far plus a framed ``challenge`` record, reduced mod r (bias < 2^-250); the
digest is then absorbed so that the next challenge depends on this one.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from . import field

_MAX_LABEL = 0xFFFF


def frame(label: bytes, data: bytes) -> bytes:
    if len(label) > _MAX_LABEL:
        raise ValueError("transcript label too long")
    return struct.pack(">H", len(label)) + label + struct.pack(">Q", len(data)) + data


class Transcript:
    def __init__(self, domain: bytes):
        self._h = hashlib.sha512()
        self._h.update(frame(b"zkarena-transcript-domain", domain))

    def absorb(self, label: bytes, data: bytes) -> None:
        self._h.update(frame(label, bytes(data)))

    def absorb_u64(self, label: bytes, n: int) -> None:
        self.absorb(label, struct.pack(">Q", n))

    def absorb_scalar(self, label: bytes, x: int) -> None:
        self.absorb(label, field.encode_scalar(x))

    def absorb_scalars(self, label: bytes, xs: Iterable[int]) -> None:
        self.absorb(label, field.encode_scalars(xs))

    def absorb_point(self, label: bytes, encoded_point: bytes) -> None:
        """Points are absorbed by their 48-byte compressed encoding."""
        if len(encoded_point) != 48:
            raise ValueError("a point is absorbed by its 48-byte compressed encoding")
        self.absorb(label, encoded_point)

    def absorb_points(self, label: bytes, encoded_points: Iterable[bytes]) -> None:
        pts = list(encoded_points)
        for p in pts:
            if len(p) != 48:
                raise ValueError("a point is absorbed by its 48-byte compressed encoding")
        self.absorb(label, struct.pack(">Q", len(pts)) + b"".join(pts))

    def challenge_bytes(self, label: bytes) -> bytes:
        h = self._h.copy()
        h.update(frame(b"challenge", label))
        out = h.digest()
        self.absorb(b"challenge-output", label + out)
        return out

    def challenge_scalar(self, label: bytes) -> int:
        return int.from_bytes(self.challenge_bytes(label), "big") % field.MODULUS

    def challenge_scalars(self, label: bytes, n: int) -> list[int]:
        return [self.challenge_scalar(label + b"/" + str(i).encode()) for i in range(n)]

    def state_digest(self) -> bytes:
        """A digest of everything absorbed so far (hedges the prover's randomness)."""
        return self._h.copy().digest()

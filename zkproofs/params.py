"""Protocol parameters: the row width 2^κ and the generator table.

Every generator is an RFC 9380 hash-to-G1 output (suite BLS12381G1_XMD:SHA-256_SSWU_RO_)
under a zkarena domain separation tag, so nobody knows a discrete-log relation between any
two of them: that is what makes the Pedersen commitments binding.

    G_i = H2C(u32be(i) || "zkarena/v1/G")   for i < 2^κ   (vector bases)
    g   = H2C("zkarena/v1/g")                               (scalar-commitment base)
    H   = H2C("zkarena/v1/H")                               (blinding base)

params_id = SHA-256 over the version, κ, the tag and the encodings of all generators; it is
absorbed by every transcript, so a proof made under other parameters never verifies.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache

from .curve import get_backend
from .curve.base import GroupBackend, Point

KAPPA = 9
ROW_WIDTH = 1 << KAPPA
PARAMS_VERSION = 1
GENERATOR_DST = b"ZKARENA-V1-GENERATORS-BLS12381G1_XMD:SHA-256_SSWU_RO_"


def vector_generator_message(i: int) -> bytes:
    return struct.pack(">I", i) + b"zkarena/v1/G"


SCALAR_BASE_MESSAGE = b"zkarena/v1/g"
BLINDING_BASE_MESSAGE = b"zkarena/v1/H"


@dataclass(frozen=True)
class Params:
    backend: GroupBackend
    G: tuple[Point, ...]  # 2^κ vector bases
    g: Point
    H: Point
    params_id: bytes

    @property
    def row_width(self) -> int:
        return len(self.G)


def _compute_params_id(backend: GroupBackend, G, g, H) -> bytes:
    h = hashlib.sha256()
    h.update(b"zkarena/params")
    h.update(struct.pack(">HH", PARAMS_VERSION, KAPPA))
    h.update(struct.pack(">H", len(GENERATOR_DST)) + GENERATOR_DST)
    for p in (*G, g, H):
        h.update(backend.encode(p))
    return h.digest()


@cache
def get_params(backend_name: str = "native") -> Params:
    backend = get_backend(backend_name)
    G = tuple(
        backend.hash_to_curve(vector_generator_message(i), GENERATOR_DST)
        for i in range(ROW_WIDTH)
    )
    g = backend.hash_to_curve(SCALAR_BASE_MESSAGE, GENERATOR_DST)
    H = backend.hash_to_curve(BLINDING_BASE_MESSAGE, GENERATOR_DST)
    return Params(backend, G, g, H, _compute_params_id(backend, G, g, H))

"""Protocol parameters: the row width 2^κ and the generator table.

Every generator is an RFC 9380 hash-to-G1 output (suite BLS12381G1_XMD:SHA-256_SSWU_RO_)
under a zkarena domain separation tag, so nobody knows a discrete-log relation between any
two of them: that is what makes the Pedersen commitments binding.

    G_i = H2C(u32be(i) || "zkarena/v1/G")   for i < 2^κ   (vector bases)
    g   = H2C("zkarena/v1/g")                               (scalar-commitment base)
    H   = H2C("zkarena/v1/H")                               (blinding base)

params_id = SHA-256 over the version, κ, the tag and the encodings of all generators; it is
absorbed by every transcript, so a proof made under other parameters never verifies.

The weight commitment C_W uses rows of 2^κ = 512 (``get_params``). The accuracy proof
commits its auxiliary vectors in wider rows, up to 2^11 = 2048 (``get_wide_params``): the
same formula continued (G_0 … G_511 are the narrow table's), the same g and H, and its own
params_id.

Hashing 2048 points to the curve takes about half a second natively and several seconds in
pure Python, so the vector bases are cached in a file (affine coordinates) under the user's
cache folder; the file is used only if its SHA-256 equals the value pinned below, which the
tests recompute from hash-to-curve on both backends. A missing, unwritable or altered cache
only costs the hashing time.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .curve import get_backend
from .curve.base import GroupBackend, Point

KAPPA = 9
ROW_WIDTH = 1 << KAPPA
PARAMS_VERSION = 1
WIDE_KAPPA = 11
WIDE_ROW_WIDTH = 1 << WIDE_KAPPA
WIDE_PARAMS_VERSION = 2
# SHA-256 of the affine coordinates (x ‖ y, 48 bytes little-endian each) of G_0 … G_2047.
CACHED_BASES = WIDE_ROW_WIDTH
CACHED_BASES_SHA256 = "5fc0198864b1591337348f188b2c7e73aa5fc5f8080ab5cfde8a5b8346dca625"
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


def _compute_params_id(backend: GroupBackend, G, g, H, version=None, kappa=None):
    version = PARAMS_VERSION if version is None else version
    kappa = KAPPA if kappa is None else kappa
    h = hashlib.sha256()
    h.update(b"zkarena/params")
    h.update(struct.pack(">HH", version, kappa))
    h.update(struct.pack(">H", len(GENERATOR_DST)) + GENERATOR_DST)
    for p in (*G, g, H):
        h.update(backend.encode(p))
    return h.digest()


def hash_vector_bases(backend: GroupBackend, n: int) -> tuple[Point, ...]:
    """G_0 … G_{n−1} by hash-to-curve (the definition; slow)."""
    return tuple(
        backend.hash_to_curve(vector_generator_message(i), GENERATOR_DST) for i in range(n)
    )


def cache_dir() -> Path:
    """ZKARENA_CACHE_DIR, else $XDG_CACHE_HOME/zkarena, else ~/.cache/zkarena."""
    if os.environ.get("ZKARENA_CACHE_DIR"):
        return Path(os.environ["ZKARENA_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zkarena"


def _bases_file() -> Path:
    return cache_dir() / f"generators-{CACHED_BASES}-{CACHED_BASES_SHA256[:16]}.xy"


@cache
def _all_cached_bases(backend_name: str) -> tuple[Point, ...]:
    backend = get_backend(backend_name)
    path = _bases_file()
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() == CACHED_BASES_SHA256:
        return tuple(
            backend.from_affine_bytes_trusted(data[i * 96 : (i + 1) * 96])
            for i in range(CACHED_BASES)
        )
    bases = hash_vector_bases(backend, CACHED_BASES)
    data = b"".join(backend.to_affine_bytes(p) for p in bases)
    if hashlib.sha256(data).hexdigest() != CACHED_BASES_SHA256:
        raise RuntimeError("hash-to-curve gave other generators than the pinned ones")
    try:  # best effort: write a private temporary file, then rename it into place
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass
    return bases


def vector_bases(backend_name: str, n: int) -> tuple[Point, ...]:
    if not 1 <= n <= CACHED_BASES:
        raise ValueError(f"at most {CACHED_BASES} vector bases, not {n}")
    return _all_cached_bases(backend_name)[:n]


@cache
def get_params(backend_name: str = "native") -> Params:
    backend = get_backend(backend_name)
    G = vector_bases(backend_name, ROW_WIDTH)
    g = backend.hash_to_curve(SCALAR_BASE_MESSAGE, GENERATOR_DST)
    H = backend.hash_to_curve(BLINDING_BASE_MESSAGE, GENERATOR_DST)
    return Params(backend, G, g, H, _compute_params_id(backend, G, g, H))


@cache
def get_wide_params(backend_name: str = "native") -> Params:
    """Protocol v2's bases: 2^11 vector bases (the first 512 are v1's), the same g and H."""
    base = get_params(backend_name)
    G = vector_bases(backend_name, WIDE_ROW_WIDTH)
    params_id = _compute_params_id(
        base.backend, G, base.g, base.H, WIDE_PARAMS_VERSION, WIDE_KAPPA
    )
    return Params(base.backend, G, base.g, base.H, params_id)

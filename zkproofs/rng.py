"""The prover's randomness: a hedged deterministic random bit generator.

Blinds and nonces are ``SHA-512(key || u64 counter)`` reduced mod r, where the key mixes
64 bytes from the operating system with everything the caller hedges in (the transcript
state and a digest of the witness). A broken OS generator alone then cannot repeat a
nonce for two different statements or witnesses, and a repeated nonce would leak the
weights.

Tests make proofs reproducible with ``ProverRandomness.for_tests(seed)``: a seed replaces
the OS bytes. It is reachable from the Python API only; no command-line flag exposes it.
"""

from __future__ import annotations

import hashlib
import os
import struct

from . import field

_DOMAIN = b"zkarena/drbg/v1"


class ProverRandomness:
    def __init__(self, *, _seed: bytes | None = None):
        entropy = os.urandom(64) if _seed is None else b"test-seed:" + _seed
        self._key = hashlib.sha512(_DOMAIN + struct.pack(">Q", len(entropy)) + entropy).digest()
        self._counter = 0
        self.deterministic = _seed is not None

    @classmethod
    def for_tests(cls, seed: bytes) -> ProverRandomness:
        """Reproducible randomness. Never use outside tests: equal seeds give equal nonces."""
        return cls(_seed=seed)

    def hedge(self, label: bytes, data: bytes) -> None:
        """Mix public or secret context into the key (framed, so hedges don't collide)."""
        h = hashlib.sha512(self._key)
        h.update(struct.pack(">H", len(label)) + label + struct.pack(">Q", len(data)))
        h.update(data)
        self._key = h.digest()

    def scalar(self) -> int:
        out = hashlib.sha512(self._key + struct.pack(">Q", self._counter)).digest()
        self._counter += 1
        return int.from_bytes(out, "big") % field.MODULUS

    def scalars(self, n: int) -> list[int]:
        return [self.scalar() for _ in range(n)]

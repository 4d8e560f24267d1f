"""The public description of a competition, as far as a proof is concerned.

A proof is bound to the *competition digest*: SHA-256 over a canonical encoding of the
competition's immutable id (a UUID, never an editable slug), the salted test-set digest,
N, the number of classes, the input shape, the input range (the integers every input lies
in; quantizers need it before the reveal) and the input scale. The accuracy threshold is a
server-side acceptance rule (an exact fraction, c ≥ ⌈t·N⌉), carried here for the command
line but kept out of the digest: the same proof is valid whatever the threshold. So is the
*budget*: the most a committed architecture may cost to prove and verify at this N, as
estimated from its schedule (zkproofs.layered.cost), checked when a model is committed.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import uuid
from dataclasses import dataclass
from fractions import Fraction

from .errors import InvalidInputError

SPEC_VERSION = 1
MAX_SAMPLES = 1 << 20
MAX_CLASSES = 1 << 16


class SpecError(InvalidInputError):
    """A competition description that is malformed or out of bounds."""


def parse_threshold(text: str | Fraction) -> Fraction:
    """'0.9', '9/10' or a Fraction → an exact fraction in (0, 1]; floats never enter."""
    try:
        t = Fraction(text) if isinstance(text, Fraction) else Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise SpecError(f"threshold {text!r} is not a number or fraction") from exc
    if not 0 < t <= 1:
        raise SpecError(f"threshold {t} must be in (0, 1]")
    return t


@dataclass(frozen=True)
class Budget:
    """The most an architecture may cost at the competition's N: estimated seconds to prove
    and to verify on the reference machine, and the proof's exact size in bytes."""

    prove_seconds: int = 1800
    verify_seconds: int = 10
    proof_bytes: int = 16_000_000

    def __post_init__(self):
        for name in ("prove_seconds", "verify_seconds", "proof_bytes"):
            v = getattr(self, name)
            if type(v) is not int or not 1 <= v <= 10**12:
                raise SpecError(f"the budget's {name} must be a positive integer")

    def as_dict(self) -> dict:
        return {"prove_seconds": self.prove_seconds, "verify_seconds": self.verify_seconds,
                "proof_bytes": self.proof_bytes}

    def violations(self, cost) -> list[str]:
        """What a cost (zkproofs.layered.cost.Cost) exceeds, each with both figures."""
        out = []
        if cost.prove_seconds > self.prove_seconds:
            out.append(f"proving takes about {cost.prove_seconds:,.0f} s "
                       f"(budget {self.prove_seconds:,} s)")
        if cost.verify_seconds > self.verify_seconds:
            out.append(f"verifying takes about {cost.verify_seconds:,.1f} s "
                       f"(budget {self.verify_seconds:,} s)")
        if cost.proof_bytes > self.proof_bytes:
            out.append(f"the proof has {cost.proof_bytes:,} bytes "
                       f"(budget {self.proof_bytes:,})")
        return out


DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class CompetitionSpec:
    competition_id: uuid.UUID
    test_set_digest: bytes  # SHA-256(salt ‖ canonical test set), 32 bytes
    num_samples: int
    num_classes: int
    input_shape: tuple[int, ...]
    input_scale: int  # a real input value v is published as the integer round(v·scale)
    threshold: Fraction
    input_range: tuple[int, int]  # every published input is an integer in [lo, hi]
    budget: Budget = DEFAULT_BUDGET  # not in the digest, like the threshold

    def __post_init__(self):
        if not isinstance(self.threshold, Fraction):
            # ⌈t·N⌉ must be exact: a float threshold is converted through its decimal text.
            object.__setattr__(self, "threshold", parse_threshold(str(self.threshold)))
        if len(self.test_set_digest) != 32:
            raise SpecError("the test-set digest is 32 bytes")
        if not isinstance(self.budget, Budget):
            raise SpecError("the budget is a Budget")
        if not 1 <= self.num_samples <= MAX_SAMPLES:
            raise SpecError(f"N must be in [1, {MAX_SAMPLES}]")
        if not 2 <= self.num_classes <= MAX_CLASSES:
            raise SpecError(f"the class count must be in [2, {MAX_CLASSES}]")
        if not self.input_shape or any(d < 1 for d in self.input_shape) or len(
            self.input_shape
        ) > 4:
            raise SpecError("the input shape has 1 to 4 positive dimensions")
        if self.input_scale < 1:
            raise SpecError("the input scale is a positive integer")
        if not 0 < self.threshold <= 1:
            raise SpecError("the threshold must be in (0, 1]")
        lo, hi = self.input_range
        if not -(2**31) <= lo <= hi < 2**31:
            raise SpecError("the input range is [lo, hi] with 32-bit signed bounds, lo ≤ hi")

    @property
    def required_correct(self) -> int:
        """⌈threshold·N⌉ in exact arithmetic."""
        return math.ceil(self.threshold * self.num_samples)

    def canonical_bytes(self) -> bytes:
        return b"".join(
            [
                b"zkarena/competition",
                struct.pack(">H", SPEC_VERSION),
                self.competition_id.bytes,
                self.test_set_digest,
                struct.pack(">IIQ", self.num_samples, self.num_classes, self.input_scale),
                struct.pack(">B", len(self.input_shape)),
                b"".join(struct.pack(">I", d) for d in self.input_shape),
                struct.pack(">qq", *self.input_range),
            ]
        )

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical_bytes()).digest()

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": SPEC_VERSION,
                "competition_id": str(self.competition_id),
                "test_set_digest": self.test_set_digest.hex(),
                "num_samples": self.num_samples,
                "num_classes": self.num_classes,
                "input_shape": list(self.input_shape),
                "input_scale": self.input_scale,
                "input_range": list(self.input_range),
                "threshold": str(self.threshold),
                "budget": self.budget.as_dict(),
                "digest": self.digest().hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> CompetitionSpec:
        try:
            d = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"the competition spec is not JSON: {exc}") from None
        if not isinstance(d, dict):
            raise SpecError("the competition spec is a JSON object")
        version = d.get("version")
        if type(version) is not int or version != SPEC_VERSION:
            raise SpecError(f"unsupported competition spec version {version!r}")

        def integer(key):
            v = d.get(key)
            if type(v) is not int:  # bool and float are refused, not coerced
                raise SpecError(f"malformed competition spec: {key} must be an integer")
            return v

        def int_list(key, length=None):
            v = d.get(key)
            if not isinstance(v, list) or any(type(e) is not int for e in v) or (
                length is not None and len(v) != length
            ):
                raise SpecError(f"malformed competition spec: {key} must be a list of integers"
                                + (f" of length {length}" if length else ""))
            return v

        def string(key):
            v = d.get(key)
            if not isinstance(v, str):
                raise SpecError(f"malformed competition spec: {key} must be a string")
            return v

        budget = DEFAULT_BUDGET
        if "budget" in d:  # absent in files written before budgets existed: the default
            b = d["budget"]
            if not isinstance(b, dict) or set(b) != {"prove_seconds", "verify_seconds",
                                                     "proof_bytes"}:
                raise SpecError("malformed competition spec: budget must be an object with "
                                "prove_seconds, verify_seconds and proof_bytes")
            budget = Budget(b["prove_seconds"], b["verify_seconds"], b["proof_bytes"])
        try:
            spec = cls(
                competition_id=uuid.UUID(string("competition_id")),
                test_set_digest=bytes.fromhex(string("test_set_digest")),
                num_samples=integer("num_samples"),
                num_classes=integer("num_classes"),
                input_shape=tuple(int_list("input_shape")),
                input_scale=integer("input_scale"),
                threshold=parse_threshold(string("threshold")),
                input_range=tuple(int_list("input_range", 2)),
                budget=budget,
            )
        except SpecError:
            raise
        except ValueError as exc:
            raise SpecError(f"malformed competition spec: {exc}") from None
        if "digest" in d and d["digest"] != spec.digest().hex():
            raise SpecError("the competition spec's digest field does not match its contents")
        return spec

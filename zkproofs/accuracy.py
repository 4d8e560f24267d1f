"""The accuracy statement end to end: commit a quantized model, prove its accuracy on a
revealed test set, verify the proof. This is the API the command line, the site and the
workers use.

Public statement of a proof (docs/protocol.md §v2.2): the competition digest, the
architecture digest, the submitter's immutable id, the claimed count c — absorbed as the
``statement`` bytes — plus the weight commitment C_W and the schedule, which the verifier
builds itself from the architecture stored with the commitment and N. Nothing but the proof
bytes comes from the prover at verification time.
"""

from __future__ import annotations

import hashlib
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from . import field, formats
from .commitments import commit_rows
from .competition import CompetitionSpec
from .errors import InvalidInputError, VerificationError
from .ml import datasets, evaluate
from .ml.architecture import Architecture, QuantizedModel
from .params import get_params
from .rng import ProverRandomness
from .weights import CommitmentBinding, commit_weights, verify_knowledge, weight_rows

STATEMENT_DOMAIN = b"zkarena/accuracy-statement/v1"
PROOF_FILE_MAGIC = b"ZKPF"  # the architecture encoding is "ZKAR"
# The proof file's version is the protocol of the proof inside: 2 = the layered,
# data-parallel protocol (zkproofs.layered). Version 1 (Spartan over one R1CS per test set)
# is retired: its files are refused by name (see AccuracyProof.from_bytes).
PROOF_FILE_VERSION = 2
PROOF_FILE_VERSIONS = (2,)
RETIRED_VERSIONS = {1: "protocol v1 (Spartan over one R1CS), retired in zkarena 0.2"}
PROOF_FILE_HEADER = 6 + 32 + 16 + 32 + 32 + 16
MAX_PROOF_BYTES = 64 << 20
LAYERED_MAGIC = b"ZKV2"
LAYERED_HEADER = 4 + 2 + 32


class CommitmentError(InvalidInputError):
    """A commitment that does not fit its competition or does not verify."""


class TestSetError(InvalidInputError):
    """A test set that does not match the competition's published digest or shape."""


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def binding(spec: CompetitionSpec, submitter_id, architecture_digest: bytes) -> CommitmentBinding:
    return CommitmentBinding(spec.digest(), _uuid(submitter_id).bytes, architecture_digest)


def statement_bytes(
    spec: CompetitionSpec, submitter_id, architecture_digest: bytes, claimed: int
) -> bytes:
    return b"".join(
        [
            struct.pack(">H", len(STATEMENT_DOMAIN)) + STATEMENT_DOMAIN,
            spec.digest(),
            architecture_digest,
            _uuid(submitter_id).bytes,
            struct.pack(">Q", claimed),
        ]
    )


# ------------------------------------------------------------------ commit


@dataclass(frozen=True)
class CommittedModel:
    """What `commit` produces. Only ``opening`` is secret: it never leaves the machine."""

    architecture: bytes
    commitment: bytes
    knowledge_proof: bytes
    opening: bytes

    @property
    def commitment_digest(self) -> bytes:
        return hashlib.sha256(self.commitment).digest()


def _check_fits(spec: CompetitionSpec, arch: Architecture) -> None:
    if tuple(arch.input_shape) != tuple(spec.input_shape):
        raise CommitmentError(
            f"the model takes inputs of shape {arch.input_shape}, the competition "
            f"{spec.input_shape}"
        )
    if tuple(arch.input_range) != tuple(spec.input_range):
        raise CommitmentError(
            f"the model was quantized for inputs in {list(arch.input_range)}, the competition "
            f"publishes inputs in {list(spec.input_range)}"
        )
    if arch.num_classes != spec.num_classes:
        raise CommitmentError(
            f"the model has {arch.num_classes} outputs, the competition {spec.num_classes} classes"
        )


def commit_model(
    model: QuantizedModel,
    spec: CompetitionSpec,
    submitter_id,
    *,
    backend: str = "native",
    rng: ProverRandomness | None = None,
) -> CommittedModel:
    """Commit to the model's weights and biases, bound to (competition, submitter,
    architecture). The architecture is frozen here: prove and verify read it back."""
    arch = model.architecture
    _check_fits(spec, arch)
    check_budget(spec, arch)
    params = get_params(backend)
    arch_bytes = arch.to_bytes()
    commitment, opening, pok = commit_weights(
        params,
        model.flat_weights().tolist(),
        binding(spec, submitter_id, arch.digest()),
        rng,
    )
    return CommittedModel(
        architecture=arch_bytes,
        commitment=formats.encode_weight_commitment(params, commitment),
        knowledge_proof=formats.encode_knowledge_proof(params, pok),
        opening=formats.encode_opening(params, opening),
    )


@dataclass(frozen=True)
class CommitmentInfo:
    architecture: Architecture
    architecture_digest: bytes
    commitment_digest: bytes
    weight_rows: int
    parameter_count: int
    cost: Any  # zkproofs.layered.cost.Cost at the competition's N


def verify_commitment(
    spec: CompetitionSpec,
    submitter_id,
    architecture: bytes,
    commitment: bytes,
    knowledge_proof: bytes,
    *,
    backend: str = "native",
) -> CommitmentInfo:
    """Check a commitment upload: decodable, fits the competition and its budget, and its
    proof of knowledge verifies for this competition, submitter and architecture."""
    params = get_params(backend)
    arch = Architecture.from_bytes(architecture)
    _check_fits(spec, arch)
    cost = check_budget(spec, arch)
    cw = formats.decode_weight_commitment(params, commitment)
    expected_rows = weight_rows(arch.weight_count, params.row_width)
    if len(cw.rows) != expected_rows:
        raise CommitmentError(
            f"the commitment has {len(cw.rows)} rows; the architecture's "
            f"{arch.weight_count} parameters need {expected_rows}"
        )
    pok = formats.decode_knowledge_proof(params, knowledge_proof)
    verify_knowledge(params, cw, pok, binding(spec, submitter_id, arch.digest()))
    return CommitmentInfo(
        arch, arch.digest(), hashlib.sha256(commitment).digest(), len(cw.rows), arch.weight_count,
        cost,
    )


def model_from_opening(architecture: bytes, opening: bytes, backend: str = "native"):
    """Rebuild the quantized model from the key file (signed values of the committed vector)."""
    params = get_params(backend)
    arch = Architecture.from_bytes(architecture)
    op = formats.decode_opening(params, opening)
    if op.weight_count != arch.weight_count:
        raise CommitmentError("the key file does not belong to this architecture")
    values = np.array(
        [field.signed(v) for v in field.to_ints(op.values[: op.weight_count])], dtype=np.int64
    )
    return QuantizedModel.from_flat(arch, values), op


# ------------------------------------------------------------------ test set


def check_test_set(spec: CompetitionSpec, x, y, salt: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The revealed test set must be the one whose salted digest was published."""
    try:
        x, y = datasets.validate(
            x,
            y,
            input_shape=tuple(spec.input_shape),
            num_classes=spec.num_classes,
            input_range=tuple(spec.input_range),
        )
    except datasets.DatasetError as exc:
        raise TestSetError(str(exc)) from None
    if len(x) != spec.num_samples:
        raise TestSetError(f"the test set has {len(x)} samples, the competition {spec.num_samples}")
    if datasets.salted_digest(x, y, salt) != spec.test_set_digest:
        raise TestSetError("the test set (with this salt) does not match the published digest")
    return x, y


# ------------------------------------------------------------------ prove / verify


@dataclass(frozen=True)
class AccuracyProof:
    """A proof with the public values needed to check it against the site's records."""

    competition_digest: bytes
    submitter_id: uuid.UUID
    architecture_digest: bytes
    commitment_digest: bytes
    claimed: int
    num_samples: int
    proof: bytes
    protocol: int = PROOF_FILE_VERSION

    def to_bytes(self) -> bytes:
        head = struct.pack(">4sH", PROOF_FILE_MAGIC, self.protocol)
        body = (
            self.competition_digest
            + self.submitter_id.bytes
            + self.architecture_digest
            + self.commitment_digest
            + struct.pack(">IIQ", self.claimed, self.num_samples, len(self.proof))
        )
        return head + body + self.proof

    @classmethod
    def from_bytes(cls, data: bytes) -> AccuracyProof:
        fixed = PROOF_FILE_HEADER
        if len(data) < fixed or len(data) > MAX_PROOF_BYTES:
            raise formats.FormatError("not a zkarena accuracy proof file (size)")
        magic, version = struct.unpack(">4sH", data[:6])
        if magic != PROOF_FILE_MAGIC:
            raise formats.FormatError("not a zkarena accuracy proof file (magic)")
        if version in RETIRED_VERSIONS:
            raise formats.FormatError(
                f"this is a proof file of version {version}, {RETIRED_VERSIONS[version]}: "
                "this zkarena no longer reads it; prove again with `zkarena prove`"
            )
        if version not in PROOF_FILE_VERSIONS:
            raise formats.FormatError(
                f"unsupported proof file version {version} (this zkarena reads versions "
                f"{', '.join(map(str, PROOF_FILE_VERSIONS))}); upgrade zkarena"
            )
        off = 6
        comp, sub = data[off : off + 32], uuid.UUID(bytes=data[off + 32 : off + 48])
        arch, com = data[off + 48 : off + 80], data[off + 80 : off + 112]
        claimed, n, length = struct.unpack(">IIQ", data[off + 112 : off + 128])
        if length != len(data) - fixed:
            raise formats.FormatError("proof file length field does not match its size")
        return cls(comp, sub, arch, com, claimed, n, data[fixed:], version)


    def check_context(
        self, spec: CompetitionSpec, submitter_id, architecture: bytes, commitment: bytes
    ) -> None:
        """The file's header must name the context it is checked in (the cryptographic
        check binds these values anyway; this gives a clear message for a wrong file)."""
        expected = {
            "competition": (self.competition_digest, spec.digest()),
            "submitter": (self.submitter_id, _uuid(submitter_id)),
            "architecture": (
                self.architecture_digest, Architecture.from_bytes(architecture).digest()
            ),
            "commitment": (self.commitment_digest, hashlib.sha256(commitment).digest()),
            "test set size": (self.num_samples, spec.num_samples),
        }
        for what, (have, want) in expected.items():
            if have != want:
                raise VerificationError(f"the proof file was made for another {what}")


ProgressCallback = Callable[[str, int, int], None]  # (stage, done, total)


def layered_schedule(architecture: Architecture | bytes, num_samples: int, claimed: int = 0):
    """The proof's schedule for this architecture and N (zkproofs.layered.schedule), from
    public data alone. Every architecture the format admits has one; ScheduleError (an
    InvalidInputError) only for N or c out of range."""
    from .layered.schedule import build

    arch = (architecture if isinstance(architecture, Architecture)
            else Architecture.from_bytes(architecture))
    return build(arch, num_samples, claimed)


def expected_proof_bytes(architecture: Architecture | bytes, spec: CompetitionSpec) -> int:
    """The exact length of a proof file for this architecture and competition, from public
    data alone (no test set, nothing decoded)."""
    sched = layered_schedule(architecture, spec.num_samples)
    return PROOF_FILE_HEADER + LAYERED_HEADER + sched.proof_size().bytes


class BudgetError(CommitmentError):
    """An architecture that costs more to prove or verify than its competition allows."""


def proof_cost(architecture: Architecture | bytes, num_samples: int):
    """What proving this architecture on N samples costs (zkproofs.layered.cost.Cost),
    counted from the schedule alone: cheap, nothing is compiled or proved."""
    from .layered import cost

    return cost.of(layered_schedule(architecture, num_samples))


def check_budget(spec: CompetitionSpec, architecture: Architecture | bytes):
    """The architecture's cost at the competition's N; BudgetError if over its budget."""
    c = proof_cost(architecture, spec.num_samples)
    over = spec.budget.violations(c)
    if over:
        raise BudgetError("this architecture is over the competition's budget at N = "
                          f"{spec.num_samples:,}: " + "; ".join(over))
    return c


def _layered_header(params) -> bytes:
    return LAYERED_MAGIC + struct.pack(">H", 2) + params.params_id


def prove_accuracy(
    spec: CompetitionSpec,
    x,
    y,
    salt: bytes,
    submitter_id,
    architecture: bytes,
    commitment: bytes,
    opening: bytes,
    *,
    claimed: int | None = None,
    backend: str = "native",
    rng: ProverRandomness | None = None,
    progress: ProgressCallback | None = None,
) -> AccuracyProof:
    """Prove that the committed model labels at least ``claimed`` samples correctly
    (default: as many as it does). Raises if the claim is false or the key file does not
    open the commitment. ``progress(stage, done, total)`` reports the prover's steps."""
    params = get_params(backend)
    x, y = check_test_set(spec, x, y, salt)
    model, op = model_from_opening(architecture, opening, backend)
    arch = model.architecture
    cw = formats.decode_weight_commitment(params, commitment)
    reopened = commit_rows(params, op.values, op.blinds)
    if len(reopened) != len(cw.rows) or not all(
        params.backend.eq(a, b) for a, b in zip(reopened, cw.rows, strict=True)
    ):
        raise CommitmentError("the key file does not open this commitment (it belongs to another)")
    correct = evaluate.count_correct(model, x, y)
    c = correct if claimed is None else claimed
    if not 0 <= c <= correct:
        raise CommitmentError(
            f"the model labels {correct} samples correctly (of {len(x)}), fewer than the "
            f"claimed {c}: a false claim cannot be proven"
        )
    statement = statement_bytes(spec, submitter_id, arch.digest(), c)
    from .layered import prover as layered_prover
    from .layered.schedule import with_data
    from .params import get_wide_params

    sched = layered_schedule(arch, len(x), c)
    wide = get_wide_params(backend)
    body = layered_prover.prove(
        wide, with_data(sched, x, y), model, x, statement, cw, op, rng=rng,
        progress=progress or layered_prover.no_progress,
    )
    return AccuracyProof(
        spec.digest(),
        _uuid(submitter_id),
        arch.digest(),
        hashlib.sha256(commitment).digest(),
        c,
        len(x),
        _layered_header(wide) + body,
        PROOF_FILE_VERSION,
    )


@dataclass(frozen=True)
class VerificationReport:
    correct: int
    num_samples: int
    meets_threshold: bool
    seconds: float
    protocol: int = PROOF_FILE_VERSION

    @property
    def accuracy(self) -> Fraction:
        return Fraction(self.correct, self.num_samples)


def verify_accuracy(
    spec: CompetitionSpec,
    x,
    y,
    salt: bytes,
    submitter_id,
    architecture: bytes,
    commitment: bytes,
    claimed: int,
    proof: bytes,
    *,
    backend: str = "native",
) -> VerificationReport:
    """Verify a proof of ``claimed`` correct predictions; raises VerificationError (or a
    decoding / test-set error) on rejection.

    Costs are bounded before any work: the proof's exact length (derived from the stored
    architecture and N) is checked before the test set is read or anything decoded."""
    from .layered import verifier as layered_verifier
    from .layered.schedule import with_data
    from .params import get_wide_params

    start = time.perf_counter()
    params = get_params(backend)
    arch = Architecture.from_bytes(architecture)
    _check_fits(spec, arch)
    if not 0 <= claimed <= spec.num_samples:
        raise VerificationError(f"the claimed count {claimed} is not in [0, {spec.num_samples}]")
    sched = layered_schedule(arch, spec.num_samples, claimed)
    wide = get_wide_params(backend)
    expected = LAYERED_HEADER + sched.proof_size().bytes
    if len(proof) != expected:
        raise formats.FormatError(
            f"the proof has {len(proof)} bytes where this architecture and N give {expected}"
        )
    if proof[:LAYERED_HEADER] != _layered_header(wide):
        raise formats.FormatError("the proof was made under other parameters or version")
    cw = formats.decode_weight_commitment(params, commitment)
    if len(cw.rows) != weight_rows(arch.weight_count, params.row_width):
        raise VerificationError("the commitment's row count does not fit its architecture")
    x, y = check_test_set(spec, x, y, salt)
    layered_verifier.verify(
        wide, with_data(sched, x, y), proof[LAYERED_HEADER:],
        statement_bytes(spec, submitter_id, arch.digest(), claimed), cw.rows,
    )
    return VerificationReport(claimed, len(x), claimed >= spec.required_correct,
                              time.perf_counter() - start)

"""The weight segment: committed at commit time, before the test set is revealed.

The quantized weights and biases, in the architecture's layout order, embedded as v mod r
and zero-padded to R_W whole rows of 2^κ, are committed row by row with fresh blinds:
C_W[i] = Com(row_i; ρ_i). The accuracy proof links its weight vector to these rows
(zkproofs.layered.gadgets.weights); the verifier takes C_W from the commitment record and
never from a proof.

With the commitment goes a proof of knowledge of its opening, bound to the competition,
the submitter and the architecture (PROTOCOL "Commit", step 3), so nobody can register
someone else's commitment as their own:

    transcript "zkarena/commit/v1" ← params_id, competition digest, submitter id,
                                      architecture digest, C_W
    α ← T (R_W scalars);  C* = Σ α_i·C_W[i]
    P → A = Com(d; t) for uniform d, t;  e ← T
    P → z = d + e·Σ α_i·row_i,  z_t = t + e·Σ α_i·ρ_i
    V: Com(z; z_t) = A + e·C*
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import field
from .commitments import commit_rows, commit_vector
from .curve.base import Point
from .errors import VerificationError
from .params import Params
from .rng import ProverRandomness
from .transcript import Transcript

R = field.MODULUS


def weight_rows(weight_count: int, row_width: int) -> int:
    return -(-weight_count // row_width)


@dataclass(frozen=True)
class WeightCommitment:
    """C_W: one G1 point per row of the weight segment (public)."""

    rows: tuple[Point, ...]


@dataclass(frozen=True)
class WeightOpening:
    """The secret opening: padded values (field.FR, R_W·2^κ of them) and one blind per row."""

    values: np.ndarray
    blinds: tuple[int, ...]
    weight_count: int


@dataclass(frozen=True)
class CommitmentBinding:
    """Public context a commitment is bound to (all fixed-length digests or ids)."""

    competition_digest: bytes
    submitter_id: bytes
    architecture_digest: bytes


@dataclass(frozen=True)
class OpeningKnowledgeProof:
    A: Point
    z: np.ndarray  # field.FR, 2^κ
    z_t: int


def _pok_transcript(params: Params, binding: CommitmentBinding, commitment: WeightCommitment):
    t = Transcript(b"zkarena/commit/v1")
    t.absorb(b"params", params.params_id)
    t.absorb(b"competition", binding.competition_digest)
    t.absorb(b"submitter", binding.submitter_id)
    t.absorb(b"architecture", binding.architecture_digest)
    t.absorb_points(b"C_W", [params.backend.encode(p) for p in commitment.rows])
    return t


def commit_weights(
    params: Params,
    weights: Sequence[int] | np.ndarray,
    binding: CommitmentBinding,
    rng: ProverRandomness | None = None,
) -> tuple[WeightCommitment, WeightOpening, OpeningKnowledgeProof]:
    """Commit to signed integer weights (any size; embedded mod r) and prove knowledge."""
    values = field.vec(weights)
    weight_count = len(values)
    if weight_count == 0:
        raise ValueError("a weight commitment needs at least one weight")
    width = params.row_width
    n_rows = weight_rows(weight_count, width)
    padded = np.concatenate([values, field.zeros(n_rows * width - weight_count)])
    rng = rng or ProverRandomness()
    rng.hedge(b"weights", hashlib.sha512(field.encode_vec(padded)).digest())
    blinds = tuple(rng.scalars(n_rows))
    commitment = WeightCommitment(tuple(commit_rows(params, padded, blinds)))
    opening = WeightOpening(padded, blinds, weight_count)
    return commitment, opening, prove_knowledge(params, commitment, opening, binding, rng)


def prove_knowledge(params, commitment, opening, binding, rng) -> OpeningKnowledgeProof:
    t = _pok_transcript(params, binding, commitment)
    n_rows = len(commitment.rows)
    rng.hedge(b"transcript", t.state_digest())
    alphas = t.challenge_scalars(b"alpha", n_rows)
    width = params.row_width
    rows = opening.values.reshape(n_rows, width)
    combined = (rows * field.vec(alphas).reshape(n_rows, 1)).sum(axis=0)
    combined_blind = sum(a * b for a, b in zip(alphas, opening.blinds, strict=True)) % R
    d = field.vec(rng.scalars(width))
    t_blind = rng.scalar()
    A = commit_vector(params, d, t_blind)
    t.absorb_points(b"A", [params.backend.encode(A)])
    e = t.challenge_scalar(b"e")
    z = d + combined * field.const(e)
    return OpeningKnowledgeProof(A, z, (t_blind + e * combined_blind) % R)


def verify_knowledge(
    params: Params,
    commitment: WeightCommitment,
    proof: OpeningKnowledgeProof,
    binding: CommitmentBinding,
) -> None:
    grp = params.backend
    if not commitment.rows:
        raise VerificationError("a weight commitment has at least one row")
    if len(proof.z) != params.row_width:
        raise VerificationError("proof of knowledge has a response of the wrong length")
    t = _pok_transcript(params, binding, commitment)
    alphas = t.challenge_scalars(b"alpha", len(commitment.rows))
    t.absorb_points(b"A", [grp.encode(proof.A)])
    e = t.challenge_scalar(b"e")
    combined = grp.msm(list(commitment.rows), alphas)
    lhs = commit_vector(params, proof.z, proof.z_t)
    if not grp.eq(lhs, grp.add(proof.A, grp.mul(combined, e))):
        raise VerificationError(
            "the proof of knowledge of the weight commitment does not verify for this "
            "competition, submitter and architecture"
        )

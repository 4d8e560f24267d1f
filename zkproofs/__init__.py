"""zkproofs: transparent zero-knowledge proofs that a committed model reaches a claimed
accuracy on a whole test set (protocol v2: a layered, data-parallel proof of sumchecks,
logUp-GKR lookups and Hyrax commitments over BLS12-381; no trusted setup).

Library first: nothing here imports Django. The main entry points:

- :func:`commit_model`, :func:`verify_commitment`: the commit phase (before the reveal);
- :func:`prove_accuracy`, :func:`verify_accuracy`: the proof (after the reveal);
- :class:`CompetitionSpec`: what a proof is bound to;
- :mod:`zkproofs.ml`: ONNX import, quantization, the reference integer evaluator;
- :mod:`zkproofs.layered`: the proof system underneath (schedule, gadgets, prover,
  verifier), on :mod:`zkproofs.lookup`, :mod:`zkproofs.commitments`, :mod:`zkproofs.sumcheck`;
- :mod:`zkproofs.errors`: one root, ``ZkproofsError``, with two branches: ``ProofError``
  (the proof is bad) and ``InvalidInputError`` (the caller's input is bad).

docs/protocol.md describes the protocol as implemented.
"""

__version__ = "0.1.0"

from .accuracy import (  # noqa: E402
    AccuracyProof,
    CommitmentError,
    CommitmentInfo,
    CommittedModel,
    TestSetError,
    VerificationReport,
    commit_model,
    model_from_opening,
    prove_accuracy,
    verify_accuracy,
    verify_commitment,
)
from .competition import CompetitionSpec, SpecError, parse_threshold  # noqa: E402
from .errors import (  # noqa: E402
    FormatError,
    InvalidInputError,
    ProofError,
    VerificationError,
    ZkproofsError,
)

__all__ = [
    "AccuracyProof",
    "CommitmentError",
    "CommitmentInfo",
    "CommittedModel",
    "CompetitionSpec",
    "FormatError",
    "InvalidInputError",
    "ProofError",
    "SpecError",
    "TestSetError",
    "VerificationError",
    "VerificationReport",
    "ZkproofsError",
    "__version__",
    "commit_model",
    "model_from_opening",
    "parse_threshold",
    "prove_accuracy",
    "verify_accuracy",
    "verify_commitment",
]

"""logUp with its fractional sums proven by a GKR-style layered sumcheck, in zero knowledge.

- :mod:`.structs`: the two trees, the steps and the exact proof size;
- :mod:`.prover`, :mod:`.verifier`: the protocol's two sides.
"""

from . import prover, verifier
from .structs import proof_size, steps

__all__ = ["proof_size", "prover", "steps", "verifier"]

"""Commitment schemes.

- :mod:`.pedersen`: Pedersen commitments to scalars and vectors, and one commitment per
  row of a matrix (what the commit-time weight commitment C_W uses);
- :mod:`.hyrax`: the Hyrax polynomial commitment of the accuracy proof: a vector laid out as a
  matrix of rows, one blinded Pedersen commitment per row, and zero-knowledge evaluation
  proofs of its multilinear extension (several claims, one proof of dot product).
"""

from .pedersen import combine, commit_rows, commit_scalar, commit_vector

__all__ = ["combine", "commit_rows", "commit_scalar", "commit_vector"]

"""Commitment schemes.

- :mod:`.pedersen`: Pedersen commitments to scalars and vectors, and one commitment per
  row of a matrix (what v1's weight segment and Spartan witness use);
- :mod:`.hyrax`: the Hyrax polynomial commitment of protocol v2: a vector laid out as a
  matrix of rows, one blinded Pedersen commitment per row, and zero-knowledge evaluation
  proofs of its multilinear extension (several claims, one proof of dot product).
"""

from .pedersen import combine, commit_rows, commit_scalar, commit_vector

__all__ = ["combine", "commit_rows", "commit_scalar", "commit_vector"]

"""Exceptions shared across zkproofs.

A verifier signals every rejection with ``VerificationError``; the prover side reports a
circuit its witness does not satisfy with ``ConstraintViolation`` and a witness with a
hole in it with ``UnassignedVariable``.
"""

from __future__ import annotations


class VerificationError(Exception):
    """A proof (or commitment proof) was rejected; the message names the failed check."""


class ConstraintViolation(ValueError):
    """Constraint ``index`` of an R1CS is not satisfied by the given z.

    ``label`` is the label the circuit compiler attached to the constraint (or None).
    """

    def __init__(self, index: int, label: str | None, detail: str = ""):
        self.index = index
        self.label = label
        where = f"constraint {index}" + (f" ({label})" if label else " (unlabelled)")
        super().__init__(f"{where} is not satisfied" + (f": {detail}" if detail else ""))


class UnassignedVariable(ValueError):
    """The prover asked for a witness but variable ``index`` never received a value."""

    def __init__(self, index: int, description: str):
        self.index = index
        super().__init__(f"variable {index} ({description}) has no value")

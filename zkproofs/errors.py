"""The exceptions zkproofs raises on purpose: one root, two branches.

    ZkproofsError
    ├── ProofError          the proof is bad: a verifier rejects it
    │   ├── VerificationError   a check failed (the message names it)
    │   └── FormatError         bytes that are not a valid encoding (points, scalars, sizes)
    └── InvalidInputError   the caller's input is bad: a competition spec, an architecture,
                            a test set, a model, a key file, a false claim, …

Anything else escaping zkproofs (a bare ``ValueError`` from numpy, ``MemoryError``, an
``OSError``) is not a verdict about a proof: it is a fault of the machine or a bug, and a
caller such as the site's verification worker must retry or report it, never reject a
competitor's proof for it. Subclasses keep ``ValueError`` as a second base where callers
have always caught ``ValueError``.
"""

from __future__ import annotations


class ZkproofsError(Exception):
    """Root of every error zkproofs raises on purpose."""


class ProofError(ZkproofsError):
    """The proof (or a commitment's proof of knowledge) is bad."""


class VerificationError(ProofError):
    """A proof (or commitment proof) was rejected; the message names the failed check."""


class FormatError(ProofError, ValueError):
    """Bytes that are not a valid encoding of the expected object."""


class InvalidInputError(ZkproofsError, ValueError):
    """The caller's input is bad; nothing is said about any proof."""

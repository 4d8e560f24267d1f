"""One root exception with two branches (DESIGN §2): every error the proof library raises on
purpose is a ``ZkproofsError``, either a ``ProofError`` (the proof is bad) or an
``InvalidInputError`` (the caller's input is bad). The site's workers reject a proof only
for these; anything else is a fault to retry, so a stray class outside the tree would turn a
library refusal into an infrastructure error (or the reverse)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import zkproofs
from zkproofs.errors import InvalidInputError, ProofError, ZkproofsError

# The command line and its REST client report to people, not to the verifier.
OUTSIDE_THE_LIBRARY = ("zkproofs.cli", "zkproofs.client")


def _library_exceptions():
    for info in pkgutil.walk_packages(zkproofs.__path__, "zkproofs."):
        if info.name.startswith(OUTSIDE_THE_LIBRARY) or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == info.name:
                yield cls


def test_every_library_exception_is_in_one_branch():
    found = list(_library_exceptions())
    assert len(found) >= 15
    for cls in found:
        if cls in (ZkproofsError, ProofError, InvalidInputError):
            continue
        if issubclass(cls, OSError):
            # A fault of the machine or the network (an unreachable timestamp authority):
            # deliberately outside the tree, so that a caller retries instead of rejecting.
            assert not issubclass(cls, ZkproofsError), cls
            continue
        assert issubclass(cls, ZkproofsError), cls
        assert issubclass(cls, ProofError) != issubclass(cls, InvalidInputError), cls


def test_decoding_errors_are_proof_errors():
    from zkproofs.curve.base import PointDecodeError
    from zkproofs.field import ScalarDecodeError

    assert issubclass(PointDecodeError, ProofError)
    assert issubclass(ScalarDecodeError, ProofError)

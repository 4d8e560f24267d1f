"""Group backends for BLS12-381 G1.

``get_backend("native")`` is arkworks (fast, compiled); ``get_backend("reference")`` is
py_ecc with Python ints (slow, independent). Both produce identical encodings for identical
inputs. Each backend module is imported on first use: py_ecc alone takes ~0.6 s to import.
"""

from __future__ import annotations

import functools

from .base import POINT_BYTES, GroupBackend, Point, PointDecodeError

BACKENDS = ("native", "reference")

__all__ = ["BACKENDS", "POINT_BYTES", "GroupBackend", "Point", "PointDecodeError", "get_backend"]


@functools.cache
def get_backend(name: str) -> GroupBackend:
    """The backend called name, one shared instance per name."""
    if name == "native":
        from .native import NativeBackend

        return NativeBackend()
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend()
    raise ValueError(f"unknown group backend {name!r}; expected one of {BACKENDS}")

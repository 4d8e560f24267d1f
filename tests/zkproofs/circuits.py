"""Small R1CS instances with satisfying witnesses, built by the tests themselves.

Values come from SHA-256 of a label, so instances are reproducible without `random`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from zkproofs import field
from zkproofs.r1cs import ONE, R1CS, Assignment, R1CSBuilder, SparseBlock

R = field.MODULUS


def det_ints(label: str, n: int, bound: int = R) -> list[int]:
    out = []
    for i in range(n):
        h = hashlib.sha256(f"{label}/{i}".encode()).digest()
        out.append(int.from_bytes(h, "big") % bound)
    return out


@dataclass
class Instance:
    r1cs: R1CS
    assignment: Assignment
    weights: list[int]


def chain_circuit(num_constraints: int, weight_count: int = 0, num_io: int = 0,
                  label: str = "chain", small: bool = False) -> Instance:
    """About num_constraints satisfied constraints: weight copies w_i·1 = c_i, io copies,
    then a product chain x_{k+1} = x_k·s_k starting from x_0 = 3."""
    bound = 1 << 8 if small else R
    b = R1CSBuilder(weight_count=weight_count)
    weights = det_ints(label + "/w", weight_count, bound)
    if weight_count:
        b.set_weight_values(weights)
        w = b.weights()
        copies = b.alloc(weight_count, weights)
        b.constrain_batch(
            weight_count,
            SparseBlock(np.arange(weight_count), w, 1),
            SparseBlock.const(weight_count),
            SparseBlock(np.arange(weight_count), copies, 1),
            label="weight copy",
        )
    io_vals = det_ints(label + "/io", num_io, bound)
    if num_io:
        ios = b.new_io(num_io, io_vals)
        copies = b.alloc(num_io, io_vals)
        b.constrain_batch(
            num_io,
            SparseBlock(np.arange(num_io), ios, 1),
            SparseBlock.const(num_io),
            SparseBlock(np.arange(num_io), copies, 1),
            label="io copy",
        )
    # x_0 = 3, then x_{k+1} = x_k·s_k mod r; with small=True the multipliers are small,
    # like the bits and quantized values of the accuracy circuits.
    rest = max(0, num_constraints - weight_count - num_io - 1)
    s_vals = det_ints(label + "/s", rest, bound)
    x_vals = [3]
    for s in s_vals:
        x_vals.append(x_vals[-1] * s % R)
    xs = b.alloc(rest + 1, x_vals)
    b.constrain({int(xs[0]): 1}, {ONE: 1}, {ONE: 3}, label="start")
    if rest:
        ss = b.alloc(rest, s_vals)
        rows = np.arange(rest)
        b.constrain_batch(
            rest,
            SparseBlock(rows, xs[:-1], 1),
            SparseBlock(rows, ss, 1),
            SparseBlock(rows, xs[1:], 1),
            label="chain",
        )
    return Instance(b.build(), b.assignment(), weights)

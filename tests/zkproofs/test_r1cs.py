"""R1CS builder and instance: layout, padding, satisfiability, digest, sparse algebra.

Every sparse operation is compared with a dense computation over Python ints on small
instances (row_width 4 keeps the dense matrices tiny).
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs import field, mle, r1cs
from zkproofs.errors import ConstraintViolation, UnassignedVariable
from zkproofs.r1cs import ONE, LinearCombination, R1CSBuilder, SparseBlock, io

P = field.MODULUS


def scalars(tag: str, n: int) -> list[int]:
    return [
        int.from_bytes(hashlib.sha256(f"{tag}/{i}".encode()).digest(), "little") % P
        for i in range(n)
    ]


def dense(mat: r1cs.SparseMatrix, inst: r1cs.R1CS) -> list[list[int]]:
    out = [[0] * inst.num_cols for _ in range(inst.num_rows)]
    for i, j, v in zip(mat.rows.tolist(), mat.cols.tolist(), field.to_ints(mat.vals), strict=True):
        out[i][j] = v
    return out


def entries(mat: r1cs.SparseMatrix) -> list[tuple[int, int, int]]:
    return list(zip(mat.rows.tolist(), mat.cols.tolist(), field.to_ints(mat.vals), strict=True))


def bits(i: int, m: int) -> list[int]:
    return [(i >> (m - 1 - k)) & 1 for k in range(m)]


def random_instance(tag: str, row_width=4, weights=3, aux=6, n_io=2, n_cons=5, density=0.3):
    """A deterministic instance with arbitrary (unsatisfiable) coefficients."""
    b = R1CSBuilder(weight_count=weights, row_width=row_width)
    aux_idx = b.alloc(aux)
    vars_ = np.concatenate([b.weights(), aux_idx, [ONE], b.new_io(n_io)])
    coins = scalars(tag, 3 * n_cons * len(vars_))
    lcs = []
    for k in range(3 * n_cons):
        lc = {}
        for t, v in enumerate(vars_.tolist()):
            c = coins[k * len(vars_) + t]
            if c % 1000 < density * 1000:
                lc[v] = c
        lcs.append(lc)
    for i in range(n_cons):
        b.constrain(lcs[3 * i], lcs[3 * i + 1], lcs[3 * i + 2], label=f"c{i}")
    return b.build()


# ---------------------------------------------------------------- layout and padding


def test_variable_layout():
    b = R1CSBuilder(weight_count=513)
    w = b.weights()
    assert w.tolist() == list(range(513))
    x = b.alloc(3)
    assert x.tolist() == [1024, 1025, 1026]  # R_W = 2 rows of 512
    k = b.new_io(2)
    assert k.tolist() == [io(0), io(1)] == [-2, -3]
    b.constrain({int(w[0]): 1, int(w[512]): 2}, {int(x[2]): 3}, {ONE: 4, int(k[1]): 5})
    inst = b.build()
    assert (inst.weight_rows, inst.aux_rows, inst.aux_base) == (2, 1, 1024)
    assert inst.num_vars == 2048 and inst.m_y == 12 and inst.total_rows == 4
    assert entries(inst.A) == [(0, 0, 1), (0, 512, 2)]
    assert entries(inst.B) == [(0, 1026, 3)]
    # ONE sits at N_v, io(k) at N_v + 1 + k: in the public half, never in vars.
    assert entries(inst.C) == [(0, 2048, 4), (0, 2050, 5)]


@pytest.mark.parametrize(
    ("weights", "aux", "n_io", "expected"),  # expected = (R_W, R_A, N_v)
    [
        (0, 0, 0, (0, 0, 512)),
        (1, 0, 0, (1, 0, 512)),
        (511, 0, 0, (1, 0, 512)),
        (512, 0, 0, (1, 0, 512)),
        (513, 0, 0, (2, 0, 1024)),
        (512, 1, 0, (1, 1, 1024)),
        (513, 1, 0, (2, 1, 2048)),
        (0, 512, 0, (0, 1, 512)),
        (0, 1537, 0, (0, 4, 2048)),
        (0, 0, 511, (0, 0, 512)),  # 1 + 511 = 512 public entries still fit
        (0, 0, 512, (0, 0, 1024)),
        (5, 5, 600, (1, 1, 1024)),
    ],
)
def test_variable_padding(weights, aux, n_io, expected):
    b = R1CSBuilder(weight_count=weights)
    b.alloc(aux)
    b.new_io(n_io)
    inst = b.build()
    assert (inst.weight_rows, inst.aux_rows, inst.num_vars) == expected
    assert 1 << (inst.m_y - 1) == inst.num_vars
    assert inst.aux_base == expected[0] * 512
    assert (inst.weight_count, inst.aux_count, inst.num_io) == (weights, aux, n_io)


@pytest.mark.parametrize(
    ("n", "m_x"), [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4)]
)
def test_constraint_padding(n, m_x):
    b = R1CSBuilder()
    x = b.alloc(1)
    for i in range(n):
        b.constrain({int(x[0]): i + 1}, {ONE: 1}, {})
    inst = b.build()
    assert inst.num_constraints == n
    assert inst.m_x == m_x and inst.num_rows == 1 << m_x
    # Padding rows are all-zero constraints.
    for mat in inst.matrices:
        assert mat.rows.max(initial=-1) < n


def test_row_width_must_be_a_power_of_two():
    with pytest.raises(ValueError):
        R1CSBuilder(row_width=12)
    inst = R1CSBuilder(weight_count=5, row_width=4).build()
    assert (inst.weight_rows, inst.num_vars, inst.kappa) == (2, 8, 2)


def test_built_instance_is_immutable():
    inst = random_instance("immutable")
    with pytest.raises(ValueError):
        inst.A.rows[0] = 1
    with pytest.raises(ValueError):
        inst.A.vals[:1] = field.const(3)
    with pytest.raises(AttributeError):
        inst.m_x = 9


# ---------------------------------------------------------------- canonical matrices


def test_entries_are_sorted_merged_and_zero_free():
    b = R1CSBuilder(row_width=4)
    x = b.alloc(3)
    b.constrain_batch(
        2,
        SparseBlock(
            np.array([1, 0, 1, 0, 1]),
            np.array([x[0], x[2], x[0], x[1], x[1]]),
            np.array([5, 7, -5, 1, 0]),
        ),
        SparseBlock.const(2),
        SparseBlock.empty(),
    )
    inst = b.build()
    # (1, x0): 5 - 5 = 0 and (1, x1): 0 are dropped; row 0 is sorted by column.
    assert entries(inst.A) == [(0, int(x[1]), 1), (0, int(x[2]), 7)]


def test_large_and_negative_coefficients_are_reduced():
    b = R1CSBuilder(row_width=4)
    x = b.alloc(1)
    big = 2**300 + 17
    b.constrain({int(x[0]): -3}, {ONE: big}, {int(x[0]): -(2**63)})
    b.constrain_batch(
        1,
        SparseBlock(np.array([0]), x, np.array([-(2**70)], dtype=object)),
        SparseBlock.const(1, 2**64),
        SparseBlock(np.array([0]), x, field.vec([P - 1])),
    )
    inst = b.build()
    assert [v for _, _, v in entries(inst.A)] == [P - 3, (-(2**70)) % P]
    assert [v for _, _, v in entries(inst.B)] == [big % P, 2**64]
    assert [v for _, _, v in entries(inst.C)] == [(-(2**63)) % P, P - 1]


def test_as_fr_matches_field_vec():
    assert r1cs._FAST_CONVERSIONS  # the fast paths are in use and checked below
    ints = [0, 1, -1, 2**63 - 1, -(2**63), 12345, -98765, 2**40]
    assert field.to_ints(r1cs.as_fr(np.array(ints, dtype=np.int64))) == [x % P for x in ints]
    assert field.to_ints(r1cs.as_fr(np.array([2**64 - 1], dtype=np.uint64))) == [2**64 - 1]
    assert field.to_ints(r1cs.as_fr([2**200, -5, 3])) == [2**200, P - 5, 3]
    assert field.to_ints(r1cs.as_fr(np.array([True, False]))) == [1, 0]
    many = np.arange(-5000, 5000, dtype=np.int64) * 7919
    assert field.to_ints(r1cs.as_fr(many)) == field.to_ints(field.vec(many.tolist()))
    with pytest.raises(TypeError):
        r1cs.as_fr(np.array([1.5]))
    with pytest.raises(TypeError):
        r1cs.as_fr([1, 2.5])


def test_canonical_bytes_match_encode_vec():
    v = field.vec(scalars("canon", 100) + [0, 1, P - 1])
    assert r1cs._canonical_bytes(v).tobytes() == field.encode_vec(v)


# ---------------------------------------------------------------- batch API


def test_sparse_block_helpers():
    b = R1CSBuilder(row_width=4)
    x = b.alloc(6)
    grid = x.reshape(2, 3)
    first = b.constrain_batch(
        2,
        SparseBlock.dense_rows(grid, np.array([1, 2, 4])),
        SparseBlock.concat(SparseBlock.const(2, 3), SparseBlock.diag(x[:2], np.array([5, 6]))),
        SparseBlock.diag(x[4:], 2**65),
        label="helpers",
    )
    assert first == 0
    inst = b.build()
    n_v = inst.num_vars
    assert entries(inst.A) == [(0, 0, 1), (0, 1, 2), (0, 2, 4), (1, 3, 1), (1, 4, 2), (1, 5, 4)]
    assert entries(inst.B) == [(0, 0, 5), (0, n_v, 3), (1, 1, 6), (1, n_v, 3)]
    assert entries(inst.C) == [(0, 4, 2**65), (1, 5, 2**65)]


def test_constrain_batch_validation():
    b = R1CSBuilder(row_width=4)
    x = b.alloc(2)
    good = SparseBlock.diag(x)
    with pytest.raises(ValueError, match="rows"):
        b.constrain_batch(1, good, good, good)  # row 1 is outside a batch of 1
    with pytest.raises(ValueError):
        b.constrain_batch(2, SparseBlock(np.array([0, 1]), x, np.array([1])), good, good)
    with pytest.raises(TypeError):
        b.constrain_batch(2, SparseBlock(np.array([0, 1]), x, np.array([1.0, 2.0])), good, good)
    assert b.num_constraints == 0  # rejected batches leave nothing behind


@pytest.mark.parametrize(
    ("aux", "bad_var"),
    # weight_count 3, row_width 4: index 3 is the padding slot of the weight row, aux
    # lives at 4.., and no io was allocated.
    [(1, 3), (1, 5), (0, 4), (1, io(0)), (1, -7)],
)
def test_build_rejects_unknown_variables(aux, bad_var):
    b = R1CSBuilder(weight_count=3, row_width=4)
    b.alloc(aux)
    b.constrain({ONE: 1}, {ONE: 1}, {ONE: 1}, label="fine")
    b.constrain({bad_var: 1}, {ONE: 1}, {}, label="the culprit")
    with pytest.raises(ValueError, match="constraint 1 \\(the culprit\\)"):
        b.build()


def test_batches_scalars_and_orders_give_identical_instances():
    def emit(style: str) -> r1cs.R1CS:
        b = R1CSBuilder(weight_count=2, row_width=4)
        x = b.alloc(4)
        w = b.weights()
        terms = [(int(w[0]), int(x[0]), 3), (int(w[1]), int(x[1]), -2), (int(x[2]), int(x[3]), 9)]
        if style == "scalar":
            for a, c, k in terms:
                b.constrain({a: 1}, {c: k}, {ONE: k})
        elif style == "one batch":
            rows = np.arange(3)
            b.constrain_batch(
                3,
                SparseBlock(rows, np.array([t[0] for t in terms]), 1),
                SparseBlock(rows, np.array([t[1] for t in terms]), np.array([t[2] for t in terms])),
                SparseBlock(rows, np.full(3, ONE), np.array([t[2] for t in terms])),
            )
        else:  # two batches, entries shuffled and split into duplicates
            b.constrain_batch(
                2,
                SparseBlock(np.array([1, 0]), np.array([terms[1][0], terms[0][0]]), 1),
                SparseBlock(
                    np.array([1, 0, 0, 1]),
                    np.array([terms[1][1], terms[0][1], terms[0][1], x[3]]),
                    np.array([-2, 1, 2, 0]),
                ),
                SparseBlock(np.array([0, 1]), np.full(2, ONE), np.array([3, -2])),
            )
            b.constrain(
                {int(x[2]): 1}, LinearCombination.var(int(x[3]), 4) + {int(x[3]): 5}, {ONE: 9}
            )
        return b.build()

    digests = {style: emit(style).digest() for style in ("scalar", "one batch", "split")}
    assert len(set(digests.values())) == 1
    assert len(digests["scalar"]) == 32
    assert emit("split").digest() == digests["scalar"]  # deterministic across builds


# ---------------------------------------------------------------- digest


def reference_digest(inst: r1cs.R1CS) -> bytes:
    """The documented encoding, spelled out with Python ints and field.encode_vec."""
    h = hashlib.sha256()
    dom = b"zkarena/r1cs/digest/v1"
    h.update(struct.pack("<Q", len(dom)) + dom)
    dims = (inst.row_width, inst.num_constraints, inst.m_x, inst.m_y, inst.num_vars)
    dims += (inst.weight_count, inst.weight_rows, inst.aux_count, inst.aux_rows, inst.num_io)
    for d in dims:
        h.update(struct.pack("<Q", d))
    for name, mat in zip(b"ABC", inst.matrices, strict=True):
        h.update(bytes([name]) + struct.pack("<Q", mat.nnz))
        h.update(b"".join(struct.pack("<Q", r) for r in mat.rows.tolist()))
        h.update(b"".join(struct.pack("<Q", c) for c in mat.cols.tolist()))
        h.update(field.encode_vec(mat.vals))
    return h.digest()


def test_digest_matches_documented_encoding():
    inst = random_instance("digest-ref")
    assert inst.digest() == reference_digest(inst)


def small_circuit(
    *,
    weights=2,
    coeff=3,
    row=1,
    col_shift=0,
    extra_aux=0,
    extra_io=0,
    extra_constraint=False,
    label="x",
    row_width=512,
):
    b = R1CSBuilder(weight_count=weights, row_width=row_width)
    x = b.alloc(3 + extra_aux)
    b.new_io(1 + extra_io)
    rows = [0, 1] if row == 1 else [0, 0]
    b.constrain_batch(
        2,
        SparseBlock(np.array(rows), np.array([x[0], x[1 + col_shift]]), np.array([1, coeff])),
        SparseBlock.const(2),
        SparseBlock(np.array([0, 1]), np.array([io(0), x[2]]), 1),
        label=label,
    )
    if extra_constraint:
        b.constrain({}, {}, {})
    return b.build()


def test_digest_is_sensitive_to_every_part():
    base = small_circuit().digest()
    assert small_circuit().digest() == base
    assert small_circuit(label="other label").digest() == base  # labels only name things
    variants = {
        "coefficient": small_circuit(coeff=4),
        "row": small_circuit(row=0),
        "column": small_circuit(col_shift=1),
        "weight count": small_circuit(weights=3),
        "aux count": small_circuit(extra_aux=1),
        "io count": small_circuit(extra_io=1),
        "empty constraint": small_circuit(extra_constraint=True),
        "row width": small_circuit(row_width=256),
    }
    seen = {base}
    for name, inst in variants.items():
        d = inst.digest()
        assert d not in seen, name
        seen.add(d)


# ---------------------------------------------------------------- witness and check


def product_circuit(values=True):
    """w0 * w1 = x0, x0 * x0 = x1, x1 + io0 = x2 (times ONE), with one public input."""
    b = R1CSBuilder(weight_count=2, row_width=4)
    w = b.weights()
    if values:
        b.set_weight_values([3, -4])
    x = b.alloc(3, values=[-12, 144, 149] if values else None, label="products")
    k = b.new_io(1, values=[5] if values else None)
    b.constrain({int(w[0]): 1}, {int(w[1]): 1}, {int(x[0]): 1}, label="mul")
    b.constrain({int(x[0]): 1}, {int(x[0]): 1}, {int(x[1]): 1}, label="square")
    b.constrain({int(x[1]): 1, int(k[0]): 1}, {ONE: 1}, {int(x[2]): 1}, label="add io")
    return b


def test_satisfied_witness_and_z_layout():
    b = product_circuit()
    inst = b.build()
    a = b.assignment()
    assert len(a.vars) == inst.num_vars == 8 and a.io == [5]
    z = inst.z(a)
    assert len(z) == inst.num_cols == 16
    assert field.to_ints(z) == [3, P - 4, 0, 0, P - 12, 144, 149, 0, 1, 5, 0, 0, 0, 0, 0, 0]
    assert inst.first_unsatisfied(z) is None
    inst.check(z)
    assert field.to_ints(inst.public_vector([5])) == [1, 5, 0, 0, 0, 0, 0, 0]


def test_first_broken_constraint_is_reported_with_its_label():
    b = product_circuit()
    inst = b.build()
    b.assign(np.array([5]), [145])  # breaks "square" and "add io"
    z = inst.z(b.assignment())
    assert inst.first_unsatisfied(z) == 1
    with pytest.raises(ConstraintViolation) as exc:
        inst.check(z)
    assert (exc.value.index, exc.value.label) == (1, "square")
    assert "constraint 1 (square)" in str(exc.value)
    assert "C·z = 145" in str(exc.value)
    # Supplying precomputed products gives the same verdict.
    with pytest.raises(ConstraintViolation):
        inst.check(z, products=inst.multiply(z))


def test_labels_are_stored_as_ranges():
    b = R1CSBuilder(row_width=4)
    x = b.alloc(1)
    for _ in range(100):
        b.constrain({int(x[0]): 1}, {ONE: 1}, {int(x[0]): 1}, label="same")
    b.constrain_batch(50, SparseBlock.const(50), SparseBlock.const(50), SparseBlock.const(50))
    b.constrain_batch(0, SparseBlock.empty(), SparseBlock.empty(), SparseBlock.empty(), "none")
    b.constrain({}, {}, {}, label="last")
    inst = b.build()
    assert inst.label_starts == (0, 100, 150)
    assert [inst.label(i) for i in (0, 99, 100, 149, 150)] == ["same"] * 2 + [None] * 2 + ["last"]


def test_wrong_public_input_breaks_the_last_constraint():
    b = product_circuit()
    inst = b.build()
    a = b.assignment()
    z = inst.z(r1cs.Assignment(vars=a.vars, io=[6]))
    with pytest.raises(ConstraintViolation) as exc:
        inst.check(z)
    assert (exc.value.index, exc.value.label) == (2, "add io")


def test_missing_values_are_named():
    b = R1CSBuilder(weight_count=2, row_width=4)
    b.alloc(2, values=[1, 2], label="first")
    b.alloc(3, label="second block")
    with pytest.raises(UnassignedVariable, match="weight 0"):
        b.assignment()
    b.set_weight_values([7, 8])
    with pytest.raises(UnassignedVariable) as exc:
        b.assignment()
    assert exc.value.index == 4 + 2
    assert "auxiliary 2" in str(exc.value) and "second block" in str(exc.value)
    b.assign(np.array([6, 8]), [0, 0])
    with pytest.raises(UnassignedVariable, match="auxiliary 3"):
        b.assignment()
    with pytest.raises(UnassignedVariable, match="auxiliary 3"):
        b.values(np.array([6, 7]))
    b.assign(np.array([7]), [0])
    b.new_io(1)
    with pytest.raises(UnassignedVariable, match="public input 0"):
        b.assignment()
    b.set_io_values([0], [-1])
    a = b.assignment()
    assert a.io == [P - 1]
    assert field.to_ints(b.values(np.array([0, 5]))) == [7, 2]
    with pytest.raises(ValueError):
        b.assign(np.array([3]), [1])  # padding slot of the weight row


def test_variables_allocated_after_the_last_value_are_missing():
    b = R1CSBuilder(row_width=4)
    b.alloc(16, values=np.arange(16))  # fills the initial witness storage exactly
    late = b.alloc(1, label="late")
    with pytest.raises(UnassignedVariable, match="auxiliary 16, allocated as 'late'"):
        b.assignment()
    with pytest.raises(UnassignedVariable):
        b.values(late)
    b.assign(late, [7])
    assert field.to_ints(b.assignment().vars[14:18]) == [14, 15, 7, 0]


def test_range_check_gadget_in_a_few_batches():
    """Bit decomposition of many values at once, as the compiler emits it."""
    k, n = 8, 300
    values = (np.arange(n, dtype=np.int64) * 37) % 256
    bit_vals = (values[:, None] >> np.arange(k)) & 1

    b = R1CSBuilder(row_width=64)
    xs = b.alloc(n, values=values)
    bit_idx = b.alloc(n * k, values=bit_vals.reshape(-1), label="bits")
    d = SparseBlock.diag(bit_idx)
    b.constrain_batch(n * k, d, d, d, label="boolean")
    grid = np.column_stack([bit_idx.reshape(n, k), xs])
    coeffs = np.concatenate([1 << np.arange(k), [-1]])
    b.constrain_batch(
        n,
        SparseBlock.dense_rows(grid, coeffs),
        SparseBlock.const(n),
        SparseBlock.empty(),
        label="recompose",
    )
    inst = b.build()
    assert inst.num_constraints == n * k + n
    inst.check(inst.z(b.assignment()))
    # Value 2 has bits (0, 1, 0, ...); "bits" (2, 0, 0, ...) recompose to the same value,
    # so only the booleanity constraint of bit 0 of value 2 catches them.
    assert values[2] == 74 and bit_vals[2, :2].tolist() == [0, 1]
    bad = bit_vals.copy()
    bad[2, 0], bad[2, 1] = 2, 0
    b.assign(bit_idx, bad.reshape(-1))
    with pytest.raises(ConstraintViolation) as exc:
        inst.check(inst.z(b.assignment()))
    assert (exc.value.index, exc.value.label) == (2 * k, "boolean")


# ---------------------------------------------------------------- sparse algebra


@pytest.fixture(params=[None, 1, 3])
def chunk(request, monkeypatch):
    """Run the sparse kernels with their default chunking and with tiny chunks, so that
    runs spanning several chunks and many chunks per matrix are exercised."""
    if request.param is not None:
        monkeypatch.setattr(r1cs, "_CHUNK", request.param)
    return request.param


def test_chunk_plan_covers_whole_runs(monkeypatch):
    monkeypatch.setattr(r1cs, "_CHUNK", 4)
    starts = np.array([0, 1, 2, 9, 10, 11, 12, 13])  # run 2 (entries 2..8) is long
    plan = r1cs._chunk_plan(starts, 15)
    assert plan == [(0, 3, 0, 9), (3, 6, 9, 12), (6, 8, 12, 15)]
    assert r1cs._chunk_plan(np.zeros(0, dtype=np.int64), 0) == []


@pytest.mark.parametrize("tag", ["mv1", "mv2", "mv3"])
def test_multiply_matches_dense(tag, chunk):
    inst = random_instance(tag)
    z_ints = scalars(tag + "/z", inst.num_cols)
    z = field.vec(z_ints)
    products = inst.multiply(z)
    for mat, got in zip(inst.matrices, products, strict=True):
        expected = [
            sum(a * b for a, b in zip(row, z_ints, strict=True)) % P for row in dense(mat, inst)
        ]
        assert field.to_ints(got) == expected


def mle_dense(m: list[list[int]], rx: list[int], ry: list[int]) -> int:
    ex = [mle.eq_eval(bits(i, len(rx)), rx) for i in range(len(m))]
    ey = [mle.eq_eval(bits(j, len(ry)), ry) for j in range(len(m[0]))]
    return sum(ex[i] * ey[j] * v for i, row in enumerate(m) for j, v in enumerate(row) if v) % P


@pytest.mark.parametrize("tag", ["ev1", "ev2"])
def test_evaluate_matches_brute_force(tag, chunk):
    inst = random_instance(tag, n_cons=7)
    rx, ry = scalars(tag + "/rx", inst.m_x), scalars(tag + "/ry", inst.m_y)
    got = inst.evaluate(rx, ry)
    assert got == tuple(mle_dense(dense(m, inst), rx, ry) for m in inst.matrices)
    # On boolean points the MLE reads matrix entries.
    i, j = int(inst.A.rows[0]), int(inst.A.cols[0])
    assert inst.evaluate(bits(i, inst.m_x), bits(j, inst.m_y))[0] == field.to_ints(inst.A.vals)[0]
    with pytest.raises(ValueError):
        inst.evaluate(rx[1:], ry)


def test_bind_rows_is_consistent_with_evaluate(chunk):
    inst = random_instance("bind", n_cons=6)
    rx, ry = scalars("bind/rx", inst.m_x), scalars("bind/ry", inst.m_y)
    ra, rb, rc = scalars("bind/r", 3)
    m = inst.bind_rows(mle.eq_table(rx), ra, rb, rc)
    assert len(m) == inst.num_cols
    a, b, c = inst.evaluate(rx, ry)
    assert field.dot(m, mle.eq_table(ry)) == (ra * a + rb * b + rc * c) % P
    # And entry by entry against the dense definition.
    ex = field.to_ints(mle.eq_table(rx))
    da, db, dc = (dense(mat, inst) for mat in inst.matrices)
    expected = [
        sum(ex[i] * (ra * da[i][y] + rb * db[i][y] + rc * dc[i][y]) for i in range(inst.num_rows))
        % P
        for y in range(inst.num_cols)
    ]
    assert field.to_ints(m) == expected
    # Zero challenges switch a matrix off.
    only_b = inst.bind_rows(mle.eq_table(rx), 0, 1, 0)
    assert field.dot(only_b, mle.eq_table(ry)) == b


def test_public_eval_matches_the_dense_public_half():
    b = R1CSBuilder(row_width=8)
    b.new_io(5)
    inst = b.build()
    io_vals = [3, P - 1, 2**200 % P, 0, 9]
    point = scalars("pub", inst.m_y - 1)
    assert inst.public_eval(io_vals, point) == mle.evaluate(inst.public_vector(io_vals), point)
    # z~(ry) = (1 - ry0) vars~(ry[1:]) + ry0 io~(ry[1:]) with zero vars.
    z = np.concatenate([field.zeros(inst.num_vars), inst.public_vector(io_vals)])
    r0 = scalars("pub0", 1)[0]
    assert mle.evaluate(z, [r0, *point]) == r0 * inst.public_eval(io_vals, point) % P


def test_empty_instance(chunk):
    inst = R1CSBuilder().build()
    assert (inst.num_constraints, inst.m_x, inst.m_y, inst.nnz) == (0, 1, 10, 0)
    z = field.zeros(inst.num_cols)
    assert inst.first_unsatisfied(z) is None
    assert inst.evaluate([5], scalars("empty", 10)) == (0, 0, 0)
    assert field.total(inst.bind_rows(field.vec([1, 2]), 1, 1, 1)) == 0
    assert len(inst.digest()) == 32


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),  # matrix row (5 constraints)
            st.integers(-2, 7),  # var: ONE, io(0), weights 0..2, aux 4..7
            st.integers(-(2**70), 2**70),
            st.integers(0, 2),  # matrix
        ),
        max_size=30,
    )
)
def test_random_instances_against_dense(terms):
    b = R1CSBuilder(weight_count=3, row_width=4)
    b.alloc(4)
    b.new_io(1)
    blocks = [[], [], []]
    for row, var, coeff, m in terms:
        if var == 3:
            continue
        blocks[m].append((row, var, coeff))
    sides = [
        SparseBlock(
            np.array([t[0] for t in bl], dtype=np.int64),
            np.array([t[1] for t in bl], dtype=np.int64),
            np.array([t[2] for t in bl], dtype=object),
        )
        for bl in blocks
    ]
    b.constrain_batch(5, *sides)
    inst = b.build()
    # Dense reference straight from the terms, with sentinels mapped by hand.
    n_v = inst.num_vars
    ref = [[[0] * inst.num_cols for _ in range(inst.num_rows)] for _ in range(3)]
    for row, var, coeff, m in terms:
        if var == 3:
            continue
        col = n_v if var == ONE else n_v + 1 if var == io(0) else var
        ref[m][row][col] = (ref[m][row][col] + coeff) % P
    for m in range(3):
        assert dense(inst.matrices[m], inst) == ref[m]
    z_ints = scalars("hyp-z", inst.num_cols)
    for got, mat in zip(inst.multiply(field.vec(z_ints)), ref, strict=True):
        assert field.to_ints(got) == [
            sum(a * b for a, b in zip(r, z_ints, strict=True)) % P for r in mat
        ]
    rx, ry = scalars("hyp-rx", inst.m_x), scalars("hyp-ry", inst.m_y)
    assert inst.evaluate(rx, ry) == tuple(mle_dense(mat, rx, ry) for mat in ref)

"""Protocol v2 (zkproofs.layered): honest proofs verify, exact sizes, both backends agree
byte for byte, and every kind of cheating is rejected: mutated messages, witnesses that
break exactly one relation (the prover forced past its own checks), proofs replayed for
another statement or commitment, wrong claims, wrong shapes."""

from __future__ import annotations

import numpy as np
import pytest

from zkproofs import field
from zkproofs.curve.base import PointDecodeError
from zkproofs.errors import FormatError, ProofError, VerificationError
from zkproofs.layered import schedule as sched_mod
from zkproofs.layered.gadgets import count as count_gadget
from zkproofs.layered.schedule import split_limbs
from zkproofs.ml import evaluate
from zkproofs.ml.architecture import Architecture, Dense
from zkproofs.params import get_params, get_wide_params
from zkproofs.rng import ProverRandomness
from zkproofs.weights import commit_weights

from .layered_helpers import BINDING, STATEMENT, make_case, mlp, prove_cases

CASES = {
    "logistic": (mlp(6, [], 3), 9),
    "one hidden ReLU": (mlp(5, [4], 3), 13),
    "ReLU then no ReLU": (mlp(5, [6, 3], 4, relus=[True, False], shifts=[3, 2]), 16),
    "one sample": (mlp(4, [3], 2), 1),
    "two samples": (mlp(4, [3], 2), 2),
    "signed inputs": (mlp(4, [5], 3, input_range=(-8, 7)), 11),
    "wide activations (limbs)": (
        mlp(6, [5], 3, input_range=(-3000, 3000), weight_bits=8, shifts=[0]), 7),
    "wide biases (limbs)": (mlp(4, [3], 2, bias_bits=40), 6),
    "no shift": (mlp(4, [3], 3, shifts=[0]), 9),
    "many samples": (mlp(3, [2], 2), 70),
    # N' = 8192 with rows of 2048 samples: the rows of samples 6144… are implied zero.
    "padded sample rows": (mlp(2, [2], 2, weight_bits=4, bias_bits=6), 4100),
}


@pytest.fixture(scope="module")
def proven():
    """One honest proof per case (shared by the tests below)."""
    return prove_cases(CASES, 100)


@pytest.mark.parametrize("name", list(CASES))
def test_honest_proofs_verify_with_their_exact_size(proven, name):
    case, writer, cw = proven[name]
    proof = writer.bytes()
    assert len(proof) == case.schedule().proof_size().bytes
    case.verify(proof, cw)


def test_the_wide_cases_really_use_limbs(proven):
    sched = proven["wide activations (limbs)"][0].schedule()
    assert any(s.kind.name == "signed" for s in sched.segments)
    sched = proven["wide biases (limbs)"][0].schedule()
    assert any(name.startswith("W.") for name in sched.vectors)


def test_both_backends_give_the_same_bytes_and_cross_verify():
    case = make_case(7, mlp(3, [2], 2, bias_bits=20), 3)
    native, cw = case.prove()
    case.backend = "reference"
    reference, cw_ref = case.prove()
    assert native.bytes() == reference.bytes()
    assert [c.to_compressed_bytes() for c in cw.rows] == [
        get_wide_params("reference").backend.encode(p) for p in cw_ref.rows]
    case.verify(native.bytes(), cw_ref, backend="reference")


# ------------------------------------------------------------------ mutations


def _mutate(proof: bytes, offset: int, length: int) -> bytes:
    grp = get_wide_params("native").backend
    item = proof[offset : offset + length]
    if length == 48:
        point = grp.decode(item)
        changed = grp.encode(grp.add(point, get_wide_params("native").g))
    else:
        changed = field.encode_scalar((field.decode_scalar(item) + 1) % field.MODULUS)
    assert changed != item
    return proof[:offset] + changed + proof[offset + length :]


def test_every_section_is_checked(proven):
    """The first and the last message of every section of a proof, each changed on its
    own into another valid point or scalar: every one is rejected."""
    case, writer, cw = proven["ReLU then no ReLU"]
    proof = writer.bytes()
    offsets = writer.item_offsets()
    bounds = [start for _, start, _ in writer.sections] + [len(offsets)]
    targets = set()
    for (label, start, _), end in zip(writer.sections, bounds[1:], strict=True):
        if end > start:
            targets.add((label, start))
            targets.add((label, end - 1))
    assert len(targets) > 50
    for label, index in sorted(targets, key=lambda t: t[1]):
        bad = _mutate(proof, *offsets[index])
        with pytest.raises(ProofError):
            case.verify(bad, cw)
            pytest.fail(f"a change in {label} (item {index}) was accepted")


def test_non_canonical_bytes_are_refused(proven):
    case, writer, cw = proven["one hidden ReLU"]
    proof = writer.bytes()
    offset, length = next(o for o in writer.item_offsets() if o[1] == 32)
    bad = proof[:offset] + field.MODULUS.to_bytes(32, "little") + proof[offset + length :]
    with pytest.raises(FormatError, match="non-canonical"):
        case.verify(bad, cw)
    bad = b"\x01" * 48 + proof[48:]  # the first row commitment: not a point
    with pytest.raises(FormatError):
        case.verify(bad, cw)


@pytest.mark.parametrize("change", ["truncated", "extended", "empty"])
def test_a_proof_of_another_length_is_refused_before_anything_is_read(proven, change):
    case, writer, cw = proven["one hidden ReLU"]
    proof = writer.bytes()
    bad = {"truncated": proof[:-32], "extended": proof + bytes(32), "empty": b""}[change]
    with pytest.raises(FormatError, match="bytes where"):
        case.verify(bad, cw)


# ------------------------------------------------------------------ statement and context


def test_a_proof_is_bound_to_its_statement_claim_and_commitment(proven):
    case, writer, cw = proven["one hidden ReLU"]
    proof = writer.bytes()
    with pytest.raises(VerificationError):
        case.verify(proof, cw, statement=STATEMENT + b"another submitter")
    if case.correct > 0:
        with pytest.raises(ProofError):
            case.verify(proof, cw, claimed=case.correct - 1)
    other, _, _ = commit_weights(get_params("native"), case.model.flat_weights().tolist(),
                                 BINDING, ProverRandomness.for_tests(b"other blinds"))
    with pytest.raises(VerificationError):
        case.verify(proof, other)


def test_the_prover_refuses_a_false_claim():
    case = make_case(3, mlp(4, [3], 3), 12, labels="random")
    assert case.correct < 12
    with pytest.raises(count_gadget.CountError, match="claim is false"):
        case.prove(claimed=case.correct + 1)


# ------------------------------------------------------------------ broken witnesses


def _first_real(values, key):
    arr = values[key]
    idx = np.argwhere(arr != 0)
    return tuple(idx[0]) if len(idx) else (0, 0)


def _relu_entry(values):
    """An entry where the ReLU is active (a = q > 0)."""
    return tuple(np.argwhere(values["L0.a"] > 0)[0])


def _break_remainder(values, flat):
    # q − 1 (and a = q − 1 with it) and rem + 2^s: the same accumulator, a remainder out
    # of [0, 2^s).
    i = _relu_entry(values)
    values["L0.q"][i] -= 1
    values["L0.a"][i] -= 1
    values["L0.rem0"][i] += 64


def _break_relu_pair(values, flat):
    i = _relu_entry(values)
    values["L0.a"][i] += 1  # q unchanged, so d = a − q = 1 too: a·d ≠ 0


def _break_activation(values, flat):
    i = _relu_entry(values)
    values["L0.q"][i] += 1  # a valid pair (q + 1, 0), but q is not ⌊acc / 2^s⌋
    values["L0.a"][i] += 1


def _break_logit(values, flat):
    values["L1.logits"][0, 0] += 1


def _break_label_logit(values, flat):
    # t_0 + 1 with the margins recomputed from it: the margins are consistent, the gather
    # t = ℓ(y) is not.
    sched = BROKEN_CASE.schedule()
    values["count.t"][0, 0] += 1
    _recompute_margins(sched, values)


def _recompute_margins(sched, values):
    p = sched.count
    n, k = sched.num_samples, p.num_classes
    logits = values[p.logits][:k, :n]
    t, b = values["count.t"], values["count.b"]
    below = (np.arange(k)[:, None] < sched.y[None, :]).astype(np.int64)
    f = np.zeros_like(values[count_gadget.margin_names(p)[0]])
    f[:k, :n] = t[:, :n] + (1 << p.B) * (1 - b[:, :n]) - logits - below
    for name, limb in zip(count_gadget.margin_names(p), split_limbs(f, p.margin_limbs),
                          strict=True):
        values[name] = limb


BROKEN_ARCH = Architecture((4,), (0, 15), (
    Dense(4, 3, weight_bits=8, bias_bits=12, shift=6, relu=True),
    Dense(3, 3, weight_bits=8, bias_bits=12),
))
BROKEN_CASE = make_case(11, BROKEN_ARCH, 10)
BROKEN_CASE.x[:, 0] = 0  # feature 0 never matters: its weights can change freely
BROKEN_CASE.correct = evaluate.count_correct(BROKEN_CASE.model, BROKEN_CASE.x, BROKEN_CASE.y)


def test_the_broken_case_has_the_shapes_the_tampering_assumes():
    sched = BROKEN_CASE.schedule()
    assert {"L0.a", "L0.rem0", "L1.logits"} <= set(sched.vectors)
    assert "L0.d" not in sched.vectors  # d = a − q is virtual
    assert sched.layers[0].rem_limbs == (6,)
    assert 0 < BROKEN_CASE.correct < 10


@pytest.mark.parametrize("tamper", [
    _break_remainder, _break_relu_pair, _break_activation, _break_logit, _break_label_logit,
])
def test_a_witness_breaking_one_relation_is_rejected(tamper):
    writer, cw = BROKEN_CASE.prove(tamper=tamper)
    with pytest.raises(ProofError):
        BROKEN_CASE.verify(writer.bytes(), cw)


def test_responses_cannot_cancel_errors_in_the_batched_check(monkeypatch):
    """The batch weights hash the whole proof, responses included. The forgery this stops
    (found in review): with weights fixed by the transcript alone (which absorbs only the
    prover's points), Σ w_e·Lin_e is affine in the responses, so shifting z₁ of one proof
    of product and compensating in another makes both equations false while their weighted
    sum stays zero. The test checks the forgery does cancel under such weights, and that the
    verifier rejects it."""
    import hashlib
    import struct

    from zkproofs import batch

    seen = {}
    original = batch.Checks.finish

    def spy(self, transcript, sent):
        seen["labels"] = [label for label, _ in self.equations]
        seen["equations"] = [eq for _, eq in self.equations]
        seen["state"] = transcript.state_digest()
        return original(self, transcript, sent)

    monkeypatch.setattr(batch.Checks, "finish", spy)
    writer, cw = BROKEN_CASE.prove()
    honest = writer.bytes()
    BROKEN_CASE.verify(honest, cw)
    # The weights an attacker could compute before choosing the responses (points only).
    honest_state = seen["state"]
    seed = hashlib.sha512(b"zkarena/batch-weights" + honest_state).digest()
    R = field.MODULUS

    def weight(e):
        return int.from_bytes(hashlib.sha512(seed + struct.pack(">Q", e)).digest(), "big") % R

    a = seen["labels"].index("lookup: root P_W·Q_T: product proof failed (first equation)")
    b = seen["labels"].index("lookup: root P_T·Q_W: product proof failed (first equation)")
    roots = dict((label, at) for label, _, at in writer.sections)["lookup roots"]
    P, S = 48, 32
    z1_a, z1_b = roots + 9 * P, roots + 12 * P + 5 * S  # six root claims, then two products

    def shifted(data, at, delta):
        z = (int.from_bytes(data[at:at + S], "little") + delta) % R
        return data[:at] + z.to_bytes(S, "little") + data[at + S:]

    forged = shifted(shifted(honest, z1_a, 1), z1_b, -weight(a) * pow(weight(b), -1, R))
    with pytest.raises(VerificationError, match="product proof failed"):
        BROKEN_CASE.verify(forged, cw)
    # Both equations are false, yet the points-only weights would have cancelled them.
    grp = get_params("native").backend
    assert seen["state"] == honest_state  # the transcript saw no response
    errors = [eq.point(grp) for eq in seen["equations"]]
    assert not grp.is_identity(errors[a]) and not grp.is_identity(errors[b])
    old = batch.Lin()
    for e, eq in enumerate(seen["equations"]):
        old.iadd(eq, weight(e) or 1)
    assert grp.is_identity(old.point(grp))


def test_a_weight_outside_its_declared_width_is_rejected():
    flat = BROKEN_CASE.model.flat_weights().copy()
    slot = BROKEN_ARCH.slot("layers.0.weight")
    flat[slot.offset] = 1 << 7  # 128 does not fit 8 signed bits; its input is always 0

    def tamper(values, weights):
        weights[:] = flat

    writer, cw = BROKEN_CASE.prove(tamper=tamper, flat=flat)
    with pytest.raises(ProofError):
        BROKEN_CASE.verify(writer.bytes(), cw)


def test_claiming_one_more_with_a_forged_bit_is_rejected():
    case = BROKEN_CASE
    wrong = int(np.flatnonzero(evaluate.predict(case.model, case.x) != case.y)[0])

    def tamper(values, flat):
        values["count.b"][0, wrong] = 1
        _recompute_margins(case.schedule(case.correct + 1), values)

    writer, cw = case.prove(claimed=case.correct + 1, tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw, claimed=case.correct + 1)


# ------------------------------------------------------------------ semantics


def test_ties_go_to_the_lowest_class():
    arch = Architecture((3,), (0, 7), (Dense(3, 3, weight_bits=4, bias_bits=8),))
    from zkproofs.ml.architecture import QuantizedModel

    from .layered_helpers import Case

    model = QuantizedModel(arch, {"layers.0.weight": np.zeros((3, 3), dtype=np.int64),
                                  "layers.0.bias": np.array([5, 5, 3])})
    x = np.arange(12).reshape(4, 3) % 8
    y = np.array([0, 1, 2, 0])
    case = Case(arch, model, x, y, evaluate.count_correct(model, x, y))
    assert case.correct == 2  # class 0 wins the tie with class 1
    writer, cw = case.prove()
    case.verify(writer.bytes(), cw)
    with pytest.raises(count_gadget.CountError):
        case.prove(claimed=3)


def test_schedule_depends_on_public_data_only():
    arch = mlp(5, [4], 3)
    a = sched_mod.build(arch, 37, 10)
    b = sched_mod.build(arch, 37, 30)
    assert a.digest() == b.digest()
    assert a.proof_size() == b.proof_size()
    assert sched_mod.build(arch, 38, 10).digest() != a.digest()


# ------------------------------------------------------------------ points outside G1


def _order_three_point(backend: str):
    """(0, 2): on y² = x³ + 4, of order 3, outside the prime-order subgroup; built without
    the decoders, which refuse it."""
    if backend == "native":
        from py_arkworks_bls12381 import G1Point

        raw = bytearray(48)
        raw[0] = 0x80  # compressed, x = 0, the smaller root y = 2
        return G1Point.from_compressed_bytes_unchecked(bytes(raw))
    from py_ecc.optimized_bls12_381 import FQ

    return (FQ(0), FQ(2), FQ.one())


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_both_decoders_refuse_the_order_three_point(backend):
    grp = get_wide_params(backend).backend
    t3 = _order_three_point(backend)
    assert not grp.is_identity(t3) and grp.is_identity(grp.mul(t3, 3))
    raw = bytearray(48)
    raw[0] = 0x80
    assert grp.encode(t3) == bytes(raw)  # both backends: the canonical encoding
    with pytest.raises(PointDecodeError):  # arkworks: "invalid", the reference: "subgroup"
        grp.decode(bytes(raw))


def test_a_point_with_a_small_order_component_is_rejected(proven):
    """Proof points are subgroup-checked on decode (DESIGN §4): a row, round or opening
    commitment shifted by a point of order 3 is refused."""
    case, writer, cw = proven["one hidden ReLU"]
    proof = writer.bytes()
    grp = get_wide_params("native").backend
    t3 = _order_three_point("native")
    offsets = writer.item_offsets()
    sections = {label: start for label, start, _ in writer.sections}
    for label in ("commitment L0.rem0", "lookup step 3", "opening of the committed vectors"):
        offset, length = offsets[sections[label]]
        assert length == 48
        shifted = grp.encode(grp.add(grp.decode(proof[offset : offset + 48]), t3))
        bad = proof[:offset] + shifted + proof[offset + 48 :]
        with pytest.raises(ProofError):
            case.verify(bad, cw)
            pytest.fail(f"a torsion shift in {label} was accepted")

"""The Spartan NIZK end to end: completeness over shapes, byte-identical backends, and
rejection of every tampering the protocol must catch."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from zkproofs import field, formats, sigma, spartan, sumcheck
from zkproofs import weights as W
from zkproofs.errors import ConstraintViolation, VerificationError
from zkproofs.rng import ProverRandomness

from .circuits import chain_circuit

R = field.MODULUS
STATEMENT = b"zkarena/test statement"


def commit(params, inst, binding, seed=b"w"):
    if not inst.weights:
        return None, None
    wc, wo, _ = W.commit_weights(params, inst.weights, binding, ProverRandomness.for_tests(seed))
    return wc, wo


def prove(params, inst, binding, seed=b"p", statement=STATEMENT, **kw):
    wc, wo = commit(params, inst, binding)
    proof = spartan.prove(
        params,
        inst.r1cs,
        inst.assignment,
        statement=statement,
        weight_commitment=wc,
        weight_opening=wo,
        rng=ProverRandomness.for_tests(seed),
        **kw,
    )
    return proof, wc


def verify(params, inst, proof, wc, statement=STATEMENT, io=None):
    spartan.verify(
        params,
        inst.r1cs,
        inst.assignment.io if io is None else io,
        proof,
        statement=statement,
        weight_commitment=wc,
    )


def shape_of(r1cs):
    return formats.ProofShape(r1cs.m_x, r1cs.m_y, r1cs.aux_rows)


# ------------------------------------------------------------------ completeness


@pytest.mark.parametrize(
    "constraints, weights, io",
    [
        (1, 0, 0),  # a single constraint
        (2, 0, 0),
        (3, 0, 1),
        (7, 3, 2),  # odd sizes; a witness far smaller than one row
        (600, 512, 0),  # weights exactly filling one row
        (1000, 513, 5),  # weights spilling into a second row
        (3001, 0, 0),
    ],
)
def test_honest_proofs_verify(native, binding, constraints, weights, io):
    inst = chain_circuit(constraints, weights, io)
    proof, wc = prove(native, inst, binding)
    verify(native, inst, proof, wc)
    enc = formats.encode_proof(native, proof)
    assert len(enc) == formats.proof_length(native, shape_of(inst.r1cs))
    again = formats.decode_proof(native, enc, shape_of(inst.r1cs))
    verify(native, inst, again, wc)


def test_two_to_the_sixteen_constraints(native, binding):
    inst = chain_circuit(1 << 16, 1000, 0, small=True)
    assert inst.r1cs.m_x == 16
    proof, wc = prove(native, inst, binding)
    verify(native, inst, proof, wc)


@pytest.mark.parametrize("constraints, weights", [(3, 2), (1 << 12, 600)])
def test_backends_are_byte_identical_and_cross_verify(
    native, reference, binding, constraints, weights
):
    inst = chain_circuit(constraints, weights, 1, small=True)
    pn, wcn = prove(native, inst, binding)
    pr, wcr = prove(reference, inst, binding)
    assert formats.encode_weight_commitment(native, wcn) == formats.encode_weight_commitment(
        reference, wcr
    )
    en, er = formats.encode_proof(native, pn), formats.encode_proof(reference, pr)
    assert en == er
    # each backend's proof under the other's verifier
    verify(reference, inst, formats.decode_proof(reference, en, shape_of(inst.r1cs)), wcr)
    verify(native, inst, formats.decode_proof(native, er, shape_of(inst.r1cs)), wcn)


GOLDEN_PROOF_SHA256 = "3303b3931cdd399ab031d43f1ed6de3a424dfbacf9f7ea78f8d3c73837c1ddae"


def test_golden_tiny_proof(native, reference, binding):
    """A known-answer proof: any change to the protocol, encodings or randomness shows."""
    inst = chain_circuit(3, 2, 1, small=True)
    for params in (native, reference):
        proof, _ = prove(params, inst, binding, seed=b"golden")
        digest = hashlib.sha256(formats.encode_proof(params, proof)).hexdigest()
        assert digest == GOLDEN_PROOF_SHA256


# ------------------------------------------------------------------ soundness: tampering


@pytest.fixture(scope="module")
def tiny(binding):
    """A small valid proof, built once for the mutation tests."""
    from zkproofs.params import get_params

    params = get_params("native")
    inst = chain_circuit(5, 3, 1)
    proof, wc = prove(params, inst, binding)
    return inst, proof, wc


def _mutations(params, proof, sample_vectors=None):
    """Yield (description, mutated proof) for single-element mutations of ``proof``.

    Points get the generator g added; scalars get +1; for field vectors each entry is
    mutated on its own (``sample_vectors`` limits how many entries of a long vector)."""
    grp = params.backend

    def is_point(obj):
        try:
            grp.encode(obj)
        except Exception:
            return False
        return True

    def walk(obj, path):
        if is_point(obj):
            yield path, grp.add(obj, params.g)
        elif dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                val = getattr(obj, f.name)
                for desc, new in walk(val, f"{path}.{f.name}"):
                    yield desc, dataclasses.replace(obj, **{f.name: new})
        elif isinstance(obj, tuple):
            for i, item in enumerate(obj):
                for desc, new in walk(item, f"{path}[{i}]"):
                    yield desc, obj[:i] + (new,) + obj[i + 1 :]
        elif isinstance(obj, int):
            yield path, (obj + 1) % R
        elif isinstance(obj, np.ndarray):
            n = len(obj)
            idx = range(n)
            if sample_vectors is not None and n > sample_vectors:
                idx = sorted({0, 1, n // 2, n - 1, *range(3, n, n // sample_vectors)})
            for i in idx:
                new = obj.copy()
                new[i : i + 1] = new[i : i + 1] + field.const(1)
                yield f"{path}[{i}]", new
        else:
            raise TypeError(f"unexpected element {path}: {type(obj)}")

    yield from walk(proof, "proof")


def test_every_single_element_mutation_is_rejected_native(native, tiny):
    inst, proof, wc = tiny
    count = 0
    for desc, bad in _mutations(native, proof, sample_vectors=16):
        with pytest.raises(VerificationError):
            verify(native, inst, bad, wc)
            pytest.fail(f"mutation {desc} was accepted")
        count += 1
    assert count > 150


def test_single_element_mutations_are_rejected_reference(reference, binding):
    """The pure-Python verifier on one mutation of each kind of element."""
    inst = chain_circuit(5, 3, 1)
    proof, wc = prove(reference, inst, binding)
    seen = set()
    for desc, bad in _mutations(reference, proof, sample_vectors=2):
        kind = "".join(c for c in desc if not c.isdigit())
        if kind in seen:
            continue
        seen.add(kind)
        with pytest.raises(VerificationError):
            verify(reference, inst, bad, wc)
    assert len(seen) > 20


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_wrong_public_inputs_are_rejected(backend, request, binding):
    params = request.getfixturevalue(backend)
    inst = chain_circuit(5, 3, 2)
    proof, wc = prove(params, inst, binding)
    with pytest.raises(VerificationError):
        verify(params, inst, proof, wc, io=[inst.assignment.io[0] + 1, inst.assignment.io[1]])
    with pytest.raises(VerificationError):
        verify(params, inst, proof, wc, statement=STATEMENT + b"!")
    with pytest.raises(VerificationError):
        verify(params, inst, proof, wc, io=inst.assignment.io[:1])


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_another_weight_commitment_is_rejected(backend, request, binding):
    params = request.getfixturevalue(backend)
    inst = chain_circuit(5, 3, 0)
    proof, wc = prove(params, inst, binding)
    other, _, _ = W.commit_weights(
        params, inst.weights, binding, ProverRandomness.for_tests(b"other blinds")
    )
    with pytest.raises(VerificationError):
        verify(params, inst, proof, other)
    # row count ±1 in the stored commitment
    with pytest.raises(VerificationError, match="rows"):
        verify(params, inst, proof, W.WeightCommitment(wc.rows + wc.rows))
    with pytest.raises(VerificationError, match="rows"):
        verify(params, inst, proof, None)


def test_weights_other_than_the_committed_ones_are_rejected(native, binding):
    inst = chain_circuit(5, 3, 0)
    committed = [w + 1 for w in inst.weights]
    wc, wo, _ = W.commit_weights(native, committed, binding, ProverRandomness.for_tests(b"w"))
    with pytest.raises(ValueError, match="committed"):
        spartan.prove(
            native,
            inst.r1cs,
            inst.assignment,
            statement=STATEMENT,
            weight_commitment=wc,
            weight_opening=wo,
        )
    proof = spartan.prove(
        native,
        inst.r1cs,
        inst.assignment,
        statement=STATEMENT,
        weight_commitment=wc,
        weight_opening=wo,
        _skip_checks=True,
    )
    with pytest.raises(VerificationError):
        verify(native, inst, proof, wc)


def _break_one_constraint(inst):
    """The same circuit with one auxiliary value changed: exactly one constraint breaks."""
    vars_ = inst.assignment.vars.copy()
    target = inst.r1cs.aux_base + inst.r1cs.aux_count - 1  # the last multiplier s_k
    vars_[target : target + 1] = vars_[target : target + 1] + field.const(1)
    broken = dataclasses.replace(inst.assignment, vars=vars_)
    z = inst.r1cs.z(broken)
    az, bz, cz = inst.r1cs.multiply(z)
    assert int(np.count_nonzero(az * bz != cz)) == 1
    return broken


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_unsatisfied_witness_is_rejected(backend, request, binding):
    params = request.getfixturevalue(backend)
    inst = chain_circuit(6, 3, 1)
    broken = _break_one_constraint(inst)
    wc, wo = commit(params, inst, binding)
    with pytest.raises(ConstraintViolation):
        spartan.prove(
            params, inst.r1cs, broken, statement=STATEMENT, weight_commitment=wc, weight_opening=wo
        )
    proof = spartan.prove(
        params,
        inst.r1cs,
        broken,
        statement=STATEMENT,
        weight_commitment=wc,
        weight_opening=wo,
        rng=ProverRandomness.for_tests(b"b"),
        _skip_checks=True,
    )
    with pytest.raises(VerificationError):
        spartan.verify(
            params, inst.r1cs, broken.io, proof, statement=STATEMENT, weight_commitment=wc
        )


def test_prover_chosen_initial_claim_is_rejected(native, binding, monkeypatch):
    """A cheating prover starts sumcheck 1 from the true (non-zero) sum of a broken
    witness instead of com(0; 0): every round is then internally consistent, and only
    the verifier's own initial claim catches it."""
    inst = chain_circuit(6, 0, 0)
    broken = _break_one_constraint(inst)
    real_prove = sumcheck.prove
    calls = []

    def cheating(t, params, rng, oracle, *, num_rounds, degree, claim, claim_value, claim_blind):
        if not calls:  # the first sumcheck: claim its true sum, with some blind
            n = len(oracle.v[0])
            e, a, b, c = oracle.v
            claim_value = field.dot(e[:n], a * b - c)
            claim_blind = 5
            from zkproofs.commitments import commit_scalar

            claim = commit_scalar(params, claim_value, claim_blind)
        calls.append(1)
        return real_prove(
            t,
            params,
            rng,
            oracle,
            num_rounds=num_rounds,
            degree=degree,
            claim=claim,
            claim_value=claim_value,
            claim_blind=claim_blind,
        )

    monkeypatch.setattr(sumcheck, "prove", cheating)
    proof = spartan.prove(
        native,
        inst.r1cs,
        broken,
        statement=STATEMENT,
        rng=ProverRandomness.for_tests(b"c"),
        _skip_checks=True,
    )
    monkeypatch.undo()
    with pytest.raises(VerificationError):
        spartan.verify(native, inst.r1cs, broken.io, proof, statement=STATEMENT)


def test_planted_generator_in_a_row_commitment_is_rejected(native, binding, monkeypatch):
    inst = chain_circuit(6, 0, 0)
    real = spartan.commit_rows

    def planted(params, values, blinds):
        rows = real(params, values, blinds)
        rows[0] = params.backend.add(rows[0], params.g)  # an extra component off the G_j, H
        return rows

    monkeypatch.setattr(spartan, "commit_rows", planted)
    proof = spartan.prove(
        native,
        inst.r1cs,
        inst.assignment,
        statement=STATEMENT,
        rng=ProverRandomness.for_tests(b"g"),
    )
    monkeypatch.undo()
    with pytest.raises(VerificationError):
        spartan.verify(native, inst.r1cs, inst.assignment.io, proof, statement=STATEMENT)


def test_aux_rows_overlapping_the_weight_rows_are_rejected(native, binding):
    """A proof that commits the weights itself (as auxiliary rows) is not accepted where
    the circuit takes them from the stored commitment."""
    inst = chain_circuit(5, 3, 0)
    proof, wc = prove(native, inst, binding)
    overlapping = dataclasses.replace(proof, aux_commitments=wc.rows + proof.aux_commitments)
    with pytest.raises(VerificationError, match="auxiliary rows"):
        verify(native, inst, overlapping, wc)
    for rows in (proof.aux_commitments[:-1], proof.aux_commitments * 2):
        with pytest.raises(VerificationError, match="auxiliary rows"):
            verify(native, inst, dataclasses.replace(proof, aux_commitments=rows), wc)


def test_sumcheck_round_count_and_degree(native, tiny):
    inst, proof, wc = tiny
    for phase in ("phase1", "phase2"):
        rounds = getattr(proof, phase).rounds
        for bad_rounds in (rounds[:-1], rounds + rounds[-1:]):
            bad = dataclasses.replace(proof, **{phase: sumcheck.SumcheckProof(bad_rounds)})
            with pytest.raises(VerificationError, match="rounds"):
                verify(native, inst, bad, wc)
        first = rounds[0]
        longer = dataclasses.replace(first.proof, z=np.concatenate([first.proof.z, field.vec([0])]))
        bad_round = dataclasses.replace(first, proof=longer)
        bad = dataclasses.replace(
            proof, **{phase: sumcheck.SumcheckProof((bad_round,) + rounds[1:])}
        )
        with pytest.raises(VerificationError, match="degree"):
            verify(native, inst, bad, wc)


def test_eval_proof_response_length(native, tiny):
    inst, proof, wc = tiny
    d = proof.vars_eval_proof
    for z in (d.z[:-1], np.concatenate([d.z, d.z[:1]])):
        bad = dataclasses.replace(proof, vars_eval_proof=dataclasses.replace(d, z=z))
        with pytest.raises(VerificationError):
            verify(native, inst, bad, wc)


# ------------------------------------------------------------------ zero knowledge


def _elements(params, obj, owner=None):
    """(owning proof object, "point" or "scalar", encoding or value) for every element a
    proof carries; points are given by their encodings."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _elements(params, getattr(obj, f.name), obj)
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _elements(params, item, owner)
    elif isinstance(obj, int):
        yield owner, "scalar", obj
    elif isinstance(obj, np.ndarray):
        for v in field.to_ints(obj):
            yield owner, "scalar", v
    else:
        yield owner, "point", params.backend.encode(obj)


def test_every_scalar_in_a_proof_is_a_sigma_response(native, tiny):
    """Structural: walking the proof, every scalar sits in a Σ-protocol proof object
    (whose responses are masked by fresh nonces) and none equals a witness value."""
    inst, proof, _ = tiny
    sigma_types = (
        sigma.OpeningProof,
        sigma.EqualityProof,
        sigma.ProductProof,
        sigma.DotProductProof,
    )

    found = [(owner, v) for owner, kind, v in _elements(native, proof) if kind == "scalar"]
    assert found and all(isinstance(owner, sigma_types) for owner, _ in found)
    witness = set(field.to_ints(inst.assignment.vars)) | set(inst.weights)
    assert witness.isdisjoint(v for _, v in found)
    assert sorted(v for _, v in found) == sorted(spartan.proof_scalars(proof))


def test_two_proofs_of_one_statement_share_no_prover_message(native, binding):
    inst = chain_circuit(20, 3, 1)
    wc, wo = commit(native, inst, binding)
    proofs = [
        spartan.prove(
            native,
            inst.r1cs,
            inst.assignment,
            statement=STATEMENT,
            weight_commitment=wc,
            weight_opening=wo,
        )  # OS randomness
        for _ in range(2)
    ]
    first, second = ({(k, v) for _, k, v in _elements(native, p)} for p in proofs)
    assert len(first) > 100
    assert first.isdisjoint(second)


def test_no_witness_bytes_in_the_encoding(native, tiny):
    inst, proof, _ = tiny
    enc = formats.encode_proof(native, proof)
    for v in field.to_ints(inst.assignment.vars)[inst.r1cs.aux_base :][:20]:
        if v > 1 << 16:  # tiny values (0, 1, 3) appear in any byte string by chance
            assert field.encode_scalar(v) not in enc

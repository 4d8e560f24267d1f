"""The Hyrax commitment of protocol v2 (zkproofs.commitments.hyrax): row layouts whatever
the split between features and samples, and batched evaluation proofs, narrower vectors
included, that verify when honest and fail when a value, a row or a point is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from zkproofs import field, mle
from zkproofs.batch import Checks, Lin
from zkproofs.commitments import hyrax
from zkproofs.commitments.pedersen import commit_scalar_fast
from zkproofs.errors import VerificationError
from zkproofs.params import get_wide_params
from zkproofs.proofstream import ProofWriter, write_dot
from zkproofs.rng import ProverRandomness
from zkproofs.transcript import Transcript


@pytest.mark.parametrize("layout, live", [
    # w ≤ s: rows are blocks of one feature's samples.
    (hyrax.Layout(2, 3, 2, 3, 5), [0, 1, 2, 3, 4, 5]),
    (hyrax.Layout(1, 3, 3, 2, 8), [0, 1]),
    # w > s: a row holds 2^(w − s) whole features.
    (hyrax.Layout(3, 1, 3, 5, 2), [0, 1]),
    (hyrax.Layout(3, 1, 4, 8, 1), [0]),
    (hyrax.Layout(0, 2, 2, 1, 3), [0]),
])
def test_live_rows_cover_every_live_entry_and_nothing_more(layout, live):
    assert list(layout.live_rows()) == live
    assert layout.num_live_rows == len(live)
    f, s = np.meshgrid(np.arange(1 << layout.f_bits), np.arange(1 << layout.s_bits),
                       indexing="ij")
    entry_live = (f < layout.live_features) & (s < layout.live_samples)
    rows_with_live = np.flatnonzero(layout.row_matrix(entry_live.astype(np.int64)).any(axis=1))
    assert set(rows_with_live) <= set(live)


def test_a_layout_wider_than_the_vector_is_refused():
    with pytest.raises(ValueError):
        hyrax.Layout(1, 1, 3, 2, 2)


def _vector(rng, layout):
    values = np.zeros((1 << layout.f_bits, 1 << layout.s_bits), dtype=np.int64)
    values[: layout.live_features, : layout.live_samples] = rng.integers(
        -1000, 1000, (layout.live_features, layout.live_samples))
    return values


def _batch(backend="native", *, lie=None, rows_change=None):
    """Three vectors — two of 2^5 entries in rows of 2^4, one single row of 2^3 — claimed at
    suffixes of one point, proved together; optionally one claim lies or a row changes."""
    params = get_wide_params(backend)
    rng = np.random.default_rng(5)
    layouts = [hyrax.Layout(2, 3, 4, 3, 7), hyrax.Layout(3, 2, 4, 8, 4),
               hyrax.Layout(1, 2, 3, 2, 4)]
    point = [int(v) for v in rng.integers(1, 1 << 60, 5)]
    prng = ProverRandomness.for_tests(b"hyrax")
    committed = hyrax.commit_many(params, [(lay, _vector(rng, lay)) for lay in layouts], prng)
    pclaims, vclaims = [], []
    for i, ((rows, opening), lay) in enumerate(zip(committed, layouts, strict=True)):
        sub = point[len(point) - lay.num_vars:]
        value = mle.evaluate(field.from_int64(opening.values.reshape(-1)), sub)
        if lie == i:
            value += 1
        blind = prng.scalar()
        y = commit_scalar_fast(params, value % field.MODULUS, blind)
        pclaims.append(hyrax.ProverClaim(opening, sub, value % field.MODULUS, blind))
        if rows_change == i:
            rows = [params.backend.add(rows[0], params.g), *rows[1:]]
        vclaims.append(hyrax.VerifierClaim(lay, rows, sub, Lin.of(y)))
    proof = hyrax.prove_evaluations(Transcript(b"t"), params, prng, pclaims)
    checks = Checks(params.backend)
    t = Transcript(b"t")
    hyrax.defer_evaluations(t, params, vclaims, proof, checks, "opening")
    w = ProofWriter(params.backend)
    write_dot(w, proof)
    checks.finish(t, w.bytes())


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_honest_batched_openings_verify(backend):
    _batch(backend)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_false_value_is_rejected(which):
    with pytest.raises(VerificationError, match="opening"):
        _batch(lie=which)


@pytest.mark.parametrize("which", [0, 2])
def test_a_changed_row_commitment_is_rejected(which):
    with pytest.raises(VerificationError, match="opening"):
        _batch(rows_change=which)


def test_claims_that_do_not_share_their_columns_are_refused():
    params = get_wide_params("native")
    lay = hyrax.Layout(1, 2, 2, 2, 4)
    prng = ProverRandomness.for_tests(b"x")
    (_, opening), = hyrax.commit_many(params, [(lay, np.ones((2, 4), dtype=np.int64))], prng)
    a = hyrax.ProverClaim(opening, [1, 2, 3], 0, 0)
    b = hyrax.ProverClaim(opening, [1, 2, 4], 0, 0)
    with pytest.raises(ValueError, match="column"):
        hyrax.prove_evaluations(Transcript(b"t"), params, prng, [a, b])


def test_a_commitment_with_the_wrong_row_count_is_rejected():
    params = get_wide_params("native")
    lay = hyrax.Layout(2, 2, 2, 3, 4)
    prng = ProverRandomness.for_tests(b"x")
    (rows, opening), = hyrax.commit_many(
        params, [(lay, _vector(np.random.default_rng(1), lay))], prng)
    claim = hyrax.ProverClaim(opening, [1, 2, 3, 4], 0, 0)
    proof = hyrax.prove_evaluations(Transcript(b"t"), params, prng, [claim])
    bad = hyrax.VerifierClaim(lay, rows[:-1], [1, 2, 3, 4], Lin.of(params.g))
    with pytest.raises(VerificationError, match="wrong number of rows"):
        hyrax.defer_evaluations(Transcript(b"t"), params, [bad], proof,
                                Checks(params.backend), "opening")

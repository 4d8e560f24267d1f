"""Commitment receipts: Schnorr signatures in BLS12-381 G1 over the receipt's canonical
bytes, verifiable offline with either backend."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import struct
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from zkproofs import field
from zkproofs.curve import get_backend
from zkproofs.errors import VerificationError
from zkproofs.params import GENERATOR_DST
from zkproofs.receipts import (
    SIGNATURE_BYTES,
    Receipt,
    ReceiptSigningKey,
    verify_receipt,
)

R = field.MODULUS
WHEN = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
KEY = ReceiptSigningKey(int.from_bytes(hashlib.sha256(b"receipt test key").digest(), "big") % R)
OTHER_KEY = ReceiptSigningKey(12345)


def make_receipt(**changes) -> Receipt:
    fields = {
        "competition_id": uuid.UUID("11111111-2222-4333-8444-555555555555"),
        "submitter_id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "architecture_digest": hashlib.sha256(b"architecture").digest(),
        "commitment_digest": hashlib.sha256(b"commitment bytes").digest(),
        "committed_at": WHEN,
    }
    fields.update(changes)
    return Receipt(**fields)


RECEIPT = make_receipt()


@pytest.fixture(scope="module")
def signed():
    """(public key, signature) by the native backend, made once."""
    return KEY.public_key(), KEY.sign(RECEIPT)


# ------------------------------------------------------------------ completeness


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_sign_verify_round_trip(backend):
    public = KEY.public_key(backend)
    sig = KEY.sign(RECEIPT, backend)
    assert len(sig) == SIGNATURE_BYTES == 80
    verify_receipt(public, RECEIPT, sig, backend)


def test_public_key_is_the_same_on_both_backends_and_is_x_times_the_base():
    assert KEY.public_key("native") == KEY.public_key("reference")
    grp = get_backend("native")
    base = grp.hash_to_curve(b"zkarena/v1/receipt-base", GENERATOR_DST)
    secret = int.from_bytes(KEY.to_bytes(), "little")
    assert KEY.public_key() == grp.encode(grp.mul(base, secret))
    assert KEY.public_key() != OTHER_KEY.public_key()


def test_native_signature_verifies_with_the_reference_backend(signed):
    public, sig = signed
    verify_receipt(public, RECEIPT, sig, "reference")


def test_reference_signature_verifies_with_the_native_backend():
    public = KEY.public_key("reference")
    sig = KEY.sign(RECEIPT, "reference")
    verify_receipt(public, RECEIPT, sig, "native")


def test_two_signatures_differ_and_both_verify(signed):
    public, first = signed
    second = KEY.sign(RECEIPT)
    assert first[:48] != second[:48]  # fresh nonce, so another R
    assert first[48:] != second[48:]
    verify_receipt(public, RECEIPT, first)
    verify_receipt(public, RECEIPT, second)


def test_the_same_instant_in_another_time_zone_verifies(signed):
    public, sig = signed
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert elsewhere.hour != WHEN.hour
    receipt = make_receipt(committed_at=elsewhere)
    assert receipt.canonical_bytes() == RECEIPT.canonical_bytes()
    verify_receipt(public, receipt, sig)


# ------------------------------------------------------------------ rejections


@pytest.mark.parametrize(
    "changes",
    [
        {"competition_id": uuid.UUID("11111111-2222-4333-8444-555555555556")},
        {"submitter_id": uuid.UUID("00000000-0000-4000-8000-000000000002")},
        {"architecture_digest": hashlib.sha256(b"another architecture").digest()},
        {"commitment_digest": hashlib.sha256(b"another commitment").digest()},
        {"committed_at": WHEN + timedelta(microseconds=1)},
        {"committed_at": WHEN - timedelta(microseconds=1)},
        {"committed_at": WHEN + timedelta(days=1)},
    ],
    ids=["competition", "submitter", "architecture", "commitment", "time+1us", "time-1us",
         "time+1day"],
)
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_another_receipt_is_rejected(signed, backend, changes):
    public, sig = signed
    verify_receipt(public, RECEIPT, sig, backend)
    with pytest.raises(VerificationError):
        verify_receipt(public, make_receipt(**changes), sig, backend)


@pytest.mark.parametrize("position", [0, 1, 20, 47, 48, 60, 79])
def test_flipped_signature_byte_is_rejected(signed, position):
    public, sig = signed
    for mask in (0x01, 0x20, 0x80):
        bad = bytearray(sig)
        bad[position] ^= mask
        with pytest.raises(VerificationError):
            verify_receipt(public, RECEIPT, bytes(bad))


def test_negated_R_is_rejected(signed):
    """Flipping the sort bit gives the valid encoding of −R: only the equation catches it."""
    public, sig = signed
    grp = get_backend("native")
    neg_r = bytes([sig[0] ^ 0x20]) + sig[1:48]
    assert grp.eq(grp.decode(neg_r), grp.neg(grp.decode(sig[:48])))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_receipt(public, RECEIPT, neg_r + sig[48:])


@pytest.mark.parametrize("length", [0, 1, 48, 79, 81, 160])
def test_signature_of_the_wrong_length_is_rejected(signed, length):
    public, sig = signed
    bad = (sig * 2)[:length]
    with pytest.raises(VerificationError, match="80 bytes"):
        verify_receipt(public, RECEIPT, bad)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_another_public_key_is_rejected(signed, backend):
    _, sig = signed
    with pytest.raises(VerificationError, match="does not verify"):
        verify_receipt(OTHER_KEY.public_key(backend), RECEIPT, sig, backend)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_identity_public_key_is_rejected(signed, backend):
    _, sig = signed
    identity = b"\xc0" + bytes(47)
    with pytest.raises(VerificationError, match="identity"):
        verify_receipt(identity, RECEIPT, sig, backend)


def test_identity_key_with_a_forged_signature_is_rejected():
    """With X = O the equation s·B = R + e·X holds for R = s·B and any message."""
    grp = get_backend("native")
    base = grp.hash_to_curve(b"zkarena/v1/receipt-base", GENERATOR_DST)
    forged = grp.encode(grp.mul(base, 7)) + field.encode_scalar(7)
    with pytest.raises(VerificationError, match="identity"):
        verify_receipt(b"\xc0" + bytes(47), RECEIPT, forged)


def test_malformed_public_key_is_rejected(signed):
    public, sig = signed
    for bad in (public[:47], public + b"\x00", b"\xe0" + bytes(47), bytes([public[0] & 0x7F])
                + public[1:], b"\xff" * 48):
        with pytest.raises(VerificationError, match="malformed"):
            verify_receipt(bad, RECEIPT, sig)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_non_canonical_s_is_rejected(signed, backend):
    """s + r is the same scalar mod r: accepted, it would make signatures malleable."""
    public, sig = signed
    s = int.from_bytes(sig[48:], "little")
    assert s + R < 1 << 256
    alias = sig[:48] + (s + R).to_bytes(32, "little")
    with pytest.raises(VerificationError, match="malformed"):
        verify_receipt(public, RECEIPT, alias, backend)
    for s_bad in (R, R + 1, (1 << 256) - 1):
        with pytest.raises(VerificationError, match="malformed"):
            verify_receipt(public, RECEIPT, sig[:48] + s_bad.to_bytes(32, "little"), backend)


def test_identity_R_is_rejected(signed):
    public, sig = signed
    with pytest.raises(VerificationError):
        verify_receipt(public, RECEIPT, b"\xc0" + bytes(47) + sig[48:])


# ------------------------------------------------------------------ the receipt itself


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        make_receipt(committed_at=datetime(2026, 1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize("name", ["architecture_digest", "commitment_digest"])
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_digests_must_be_32_bytes(name, length):
    with pytest.raises(ValueError, match="32 bytes"):
        make_receipt(**{name: bytes(length)})


def test_timestamp_us_is_exact():
    expected = calendar.timegm((2026, 1, 2, 3, 4, 5)) * 1_000_000 + 6
    assert expected == 1_767_323_045_000_006
    assert RECEIPT.timestamp_us == expected
    # the same instant written in another zone
    plus_two = datetime(2026, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert make_receipt(committed_at=plus_two).timestamp_us == expected
    # around the epoch, including just before it
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert make_receipt(committed_at=epoch).timestamp_us == 0
    assert make_receipt(committed_at=epoch - timedelta(microseconds=1)).timestamp_us == -1
    late = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert make_receipt(committed_at=late).timestamp_us == 253_402_300_799_999_999


def test_canonical_bytes_layout():
    data = RECEIPT.canonical_bytes()
    prefix = b"zkarena/receipt" + struct.pack(">H", 1)
    assert data.startswith(prefix)
    rest = data[len(prefix) :]
    assert rest[:16] == RECEIPT.competition_id.bytes
    assert rest[16:32] == RECEIPT.submitter_id.bytes
    assert rest[32:64] == RECEIPT.architecture_digest
    assert rest[64:96] == RECEIPT.commitment_digest
    assert rest[96:] == struct.pack(">q", 1_767_323_045_000_006)
    # every field lands in the signed bytes
    for changed in (
        dataclasses.replace(RECEIPT, competition_id=uuid.UUID(int=1)),
        dataclasses.replace(RECEIPT, submitter_id=uuid.UUID(int=1)),
        dataclasses.replace(RECEIPT, architecture_digest=bytes(32)),
        dataclasses.replace(RECEIPT, commitment_digest=bytes(32)),
        dataclasses.replace(RECEIPT, committed_at=WHEN + timedelta(microseconds=1)),
    ):
        assert changed.canonical_bytes() != data


# ------------------------------------------------------------------ keys


def test_key_bytes_round_trip(signed):
    public, sig = signed
    raw = KEY.to_bytes()
    assert len(raw) == 32
    again = ReceiptSigningKey.from_bytes(raw)
    assert again.to_bytes() == raw
    assert again.public_key() == public
    verify_receipt(public, RECEIPT, again.sign(RECEIPT))


@pytest.mark.parametrize(
    "raw", [bytes(32), R.to_bytes(32, "little"), b"\xff" * 32, bytes(31), bytes(33)]
)
def test_invalid_key_bytes_are_refused(raw):
    with pytest.raises(ValueError):
        ReceiptSigningKey.from_bytes(raw)


@pytest.mark.parametrize("secret", [0, R, R + 1, -1])
def test_key_must_be_a_nonzero_scalar(secret):
    with pytest.raises(ValueError):
        ReceiptSigningKey(secret)


def test_generated_keys_are_fresh():
    a, b = ReceiptSigningKey.generate(), ReceiptSigningKey.generate()
    assert a.to_bytes() != b.to_bytes()
    assert 0 < int.from_bytes(a.to_bytes(), "little") < R


# ------------------------------------------------------------------ secrets and timing


# Made by the signer before secrets stopped going through the backends' variable-time
# multiplication: receipts signed then must verify unchanged.
OLD_PUBLIC_KEY = bytes.fromhex(
    "a15d0bc85135ebfea3b84bec3aa149a13e42aab0229d9483971fd7b9bc6d7452d213b8e07c8e6cf48c0c23141a5d0c05"
)
OLD_SIGNATURE = bytes.fromhex(
    "982be48dd962ceb999143a7a065dae63bbe0744adab631abc7d8398932f46f1261047bc78a37df86"
    "d5fe92462dd5582c3b7d129f2ae206209b42e84c5d49adcc65828c93f30d1c72f5edc2975052d53e"
)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_signatures_made_before_verify_unchanged(backend):
    assert KEY.public_key(backend) == OLD_PUBLIC_KEY
    verify_receipt(OLD_PUBLIC_KEY, RECEIPT, OLD_SIGNATURE, backend)


def test_both_backends_sign_the_same_bytes_with_the_same_randomness():
    from zkproofs.rng import ProverRandomness

    native = KEY.sign(RECEIPT, "native", rng=ProverRandomness.for_tests(b"nonce"))
    reference = KEY.sign(RECEIPT, "reference", rng=ProverRandomness.for_tests(b"nonce"))
    assert native == reference
    verify_receipt(KEY.public_key(), RECEIPT, native, "reference")


@pytest.mark.parametrize("k", [1, 2, 15, 16, 2**64 - 1, 2**128 + 1, R // 2, R - 2, R - 1])
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_fixed_base_multiplication_is_right_on_edge_scalars(backend, k):
    from zkproofs import receipts

    grp, base = receipts._base(backend)
    assert grp.eq(receipts._fixed_base_mul(backend, k), grp.mul(base, k))


class _Recording:
    """A real backend that writes down every group operation asked of it."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def record(*args):
            self.calls.append((name, tuple(a for a in args if isinstance(a, int))))
            return method(*args)

        return record


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_signing_runs_the_same_group_operations_whatever_the_secrets(backend, monkeypatch):
    """Secrets (the nonce, the key) never reach the backends' variable-time scalar
    multiplication: signing asks the group for the same sequence of operations, with no
    scalar argument at all, for keys and nonces of any size and weight."""
    from zkproofs import receipts
    from zkproofs.rng import ProverRandomness

    keys = [ReceiptSigningKey(1), ReceiptSigningKey(R - 1), ReceiptSigningKey(2**200 + 3)]
    for key in keys:  # tables and public keys are computed once, before the recording
        key.sign(RECEIPT, backend)
    grp = receipts.get_backend(backend)
    traces = []
    for key, seed in zip(keys, [b"a", b"b", b"c"], strict=True):
        recording = _Recording(grp)
        monkeypatch.setattr(receipts, "get_backend", lambda name, r=recording: r)
        receipts._base.cache_clear()
        try:
            key.sign(RECEIPT, backend, rng=ProverRandomness.for_tests(seed))
        finally:
            receipts._base.cache_clear()
            monkeypatch.undo()
        traces.append(recording.calls)
    assert traces[0] == traces[1] == traces[2]
    names = {name for name, _ in traces[0]}
    assert "mul" not in names and "msm" not in names
    assert all(scalars == () for _, scalars in traces[0])
    assert [name for name, _ in traces[0]].count("add") == 63

"""The commitment log's encodings (zkproofs.commitlog): exact round trips, strict decoding,
and tree heads signed with the receipt key, distinct from receipts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from zkproofs import commitlog
from zkproofs.errors import FormatError, VerificationError
from zkproofs.receipts import Receipt, ReceiptSigningKey, verify_receipt

WHEN = datetime(2031, 3, 1, 11, 59, 59, 123456, tzinfo=UTC)


def test_entries_round_trip_exactly():
    c = commitlog.CommitmentEntry(uuid.uuid4(), uuid.uuid4(), b"a" * 32, b"b" * 32, WHEN,
                                  b"t" * 32)  # fmt: skip
    r = commitlog.RevealEntry(uuid.uuid4(), b"d" * 32, b"s" * 32, WHEN, WHEN, b"z" * 32)
    for entry in (c, r):
        data = commitlog.encode_entry(entry)
        assert commitlog.decode_entry(data) == entry
        with pytest.raises(FormatError):
            commitlog.decode_entry(data + b"\0")
        with pytest.raises(FormatError):
            commitlog.decode_entry(data[:-1])
    bad_kind = bytearray(commitlog.encode_entry(c))
    bad_kind[len(commitlog.ENTRY_TAG) + 2] = 9
    with pytest.raises(FormatError, match="unknown log entry kind"):
        commitlog.decode_entry(bytes(bad_kind))


def test_tree_heads_are_signed_and_never_pass_for_receipts():
    key = ReceiptSigningKey.generate()
    public = key.public_key()
    head = commitlog.TreeHead(7, WHEN, b"r" * 32)
    sth = commitlog.SignedTreeHead(head, head.sign(key), public)
    again = commitlog.SignedTreeHead.from_dict(sth.to_dict())
    again.verify(public)
    other = commitlog.TreeHead(8, WHEN, b"r" * 32)
    with pytest.raises(VerificationError):
        other.verify(public, sth.signature)
    with pytest.raises(VerificationError):
        sth.verify(ReceiptSigningKey.generate().public_key())
    receipt = Receipt(uuid.uuid4(), uuid.uuid4(), b"a" * 32, b"b" * 32, WHEN)
    with pytest.raises(VerificationError):
        verify_receipt(public, receipt, sth.signature)
    assert not head.message().startswith(b"zkarena/receipt")

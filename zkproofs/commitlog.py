"""The commitment log's encodings: its entries and its signed tree heads.

A site keeps one append-only log (RFC 9162 Merkle tree hashing, :mod:`zkproofs.merkle`) of
every commitment it registers and of every competition's reveal. Each leaf is the SHA-256
leaf hash of one entry's canonical bytes:

    entry      = "zkarena/log-entry" ‖ u16 version ‖ u8 kind ‖ body
    commitment = competition id (16) ‖ submitter id (16) ‖ architecture digest (32)
                 ‖ commitment digest (32) ‖ receipt time, UTC µs (i64)
                 ‖ SHA-256 of the RFC 3161 timestamp response, or 32 zero bytes
    reveal     = competition id (16) ‖ salted test-set digest (32) ‖ salt (32)
                 ‖ reveal_at, UTC µs (i64) ‖ logged at, UTC µs (i64)
                 ‖ digest of the competition's timestamp authorities, or 32 zero bytes

A verifier recomputes an entry from what it downloads and checks the bytes (never the
site's hashes), so the log binds exactly the receipt, the timestamp token and the reveal.

A signed tree head states (tree size, time, root) and is signed with the site's receipt key
(:mod:`zkproofs.receipts`, Schnorr over BLS12-381 G1):

    head = "zkarena/tree-head" ‖ u16 version ‖ u64 tree size ‖ time, UTC µs (i64) ‖ root (32)

Two signed heads of the same size with different roots, or two heads no consistency proof
links, are the site's own signed evidence that it showed two histories.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from .errors import FormatError, VerificationError
from .merkle import HASH_BYTES, leaf_hash
from .receipts import Receipt, ReceiptSigningKey, verify_message

ENTRY_TAG = b"zkarena/log-entry"
TREE_HEAD_TAG = b"zkarena/tree-head"
VERSION = 1
NO_DIGEST = bytes(HASH_BYTES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(when: datetime) -> int:
    """UTC microseconds since 1970 (exact: no float)."""
    if when.tzinfo is None:
        raise ValueError("a log time must be timezone-aware")
    delta = when.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(stamp: int) -> datetime:
    return _EPOCH + timedelta(microseconds=stamp)


class EntryKind(IntEnum):
    COMMITMENT = 1
    REVEAL = 2


def _digest(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_BYTES:
        raise ValueError(f"{what} is {HASH_BYTES} bytes")
    return bytes(value)


@dataclass(frozen=True)
class CommitmentEntry:
    competition_id: uuid.UUID
    submitter_id: uuid.UUID
    architecture_digest: bytes
    commitment_digest: bytes
    committed_at: datetime
    timestamp_digest: bytes = NO_DIGEST  # SHA-256 of the timestamp response, or zeros

    kind = EntryKind.COMMITMENT

    def __post_init__(self):
        _digest(self.architecture_digest, "the architecture digest")
        _digest(self.commitment_digest, "the commitment digest")
        _digest(self.timestamp_digest, "the timestamp digest")
        to_us(self.committed_at)

    @classmethod
    def from_receipt(cls, receipt: Receipt, timestamp_digest: bytes | None) -> CommitmentEntry:
        return cls(receipt.competition_id, receipt.submitter_id, receipt.architecture_digest,
                   receipt.commitment_digest, receipt.committed_at,
                   timestamp_digest or NO_DIGEST)  # fmt: skip

    def body(self) -> bytes:
        return b"".join([
            self.competition_id.bytes, self.submitter_id.bytes, self.architecture_digest,
            self.commitment_digest, struct.pack(">q", to_us(self.committed_at)),
            self.timestamp_digest,
        ])  # fmt: skip


@dataclass(frozen=True)
class RevealEntry:
    competition_id: uuid.UUID
    test_set_digest: bytes
    salt: bytes
    reveal_at: datetime
    logged_at: datetime
    authorities_digest: bytes = NO_DIGEST  # timestamps.authorities_digest, or zeros

    kind = EntryKind.REVEAL

    def __post_init__(self):
        _digest(self.test_set_digest, "the test-set digest")
        _digest(self.salt, "the salt")
        _digest(self.authorities_digest, "the authorities digest")
        to_us(self.reveal_at)
        to_us(self.logged_at)

    def body(self) -> bytes:
        return b"".join([
            self.competition_id.bytes, self.test_set_digest, self.salt,
            struct.pack(">qq", to_us(self.reveal_at), to_us(self.logged_at)),
            self.authorities_digest,
        ])  # fmt: skip


Entry = CommitmentEntry | RevealEntry
_BODY_BYTES = {EntryKind.COMMITMENT: 16 + 16 + 32 + 32 + 8 + 32,
               EntryKind.REVEAL: 16 + 32 + 32 + 8 + 8 + 32}  # fmt: skip
_HEADER = len(ENTRY_TAG) + 3


def encode_entry(entry: Entry) -> bytes:
    return ENTRY_TAG + struct.pack(">HB", VERSION, entry.kind) + entry.body()


def entry_leaf_hash(entry: Entry) -> bytes:
    return leaf_hash(encode_entry(entry))


def decode_entry(data: bytes) -> Entry:
    """The entry ``data`` encodes; FormatError for anything else (exact length, known kind)."""
    if len(data) < _HEADER or data[: len(ENTRY_TAG)] != ENTRY_TAG:
        raise FormatError("not a zkarena log entry")
    version, kind = struct.unpack_from(">HB", data, len(ENTRY_TAG))
    if version != VERSION:
        raise FormatError(f"unsupported log entry version {version}")
    try:
        kind = EntryKind(kind)
    except ValueError:
        raise FormatError(f"unknown log entry kind {kind}") from None
    body = data[_HEADER:]
    if len(body) != _BODY_BYTES[kind]:
        raise FormatError(f"a {kind.name.lower()} entry is {_BODY_BYTES[kind]} bytes after "
                          f"its header, not {len(body)}")
    competition = uuid.UUID(bytes=body[:16])
    if kind == EntryKind.COMMITMENT:
        (stamp,) = struct.unpack_from(">q", body, 96)
        return CommitmentEntry(competition, uuid.UUID(bytes=body[16:32]), body[32:64],
                               body[64:96], from_us(stamp), body[104:136])  # fmt: skip
    reveal_us, logged_us = struct.unpack_from(">qq", body, 80)
    return RevealEntry(competition, body[16:48], body[48:80], from_us(reveal_us),
                       from_us(logged_us), body[96:128])  # fmt: skip


# ------------------------------------------------------------------ signed tree heads


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    timestamp: datetime
    root_hash: bytes

    def __post_init__(self):
        if not 0 <= self.tree_size < 2**63:
            raise ValueError("a tree size is a non-negative 63-bit integer")
        _digest(self.root_hash, "a root hash")
        to_us(self.timestamp)

    def message(self) -> bytes:
        return TREE_HEAD_TAG + struct.pack(">HQq", VERSION, self.tree_size,
                                           to_us(self.timestamp)) + self.root_hash

    def sign(self, key: ReceiptSigningKey) -> bytes:
        return key.sign_message(self.message())

    def verify(self, public_key: bytes, signature: bytes, backend: str = "native") -> None:
        """Raise VerificationError unless the site's key signed this head."""
        verify_message(public_key, self.message(), signature, backend, what="tree head")


@dataclass(frozen=True)
class SignedTreeHead:
    head: TreeHead
    signature: bytes
    public_key: bytes

    def to_dict(self) -> dict:
        return {
            "tree_size": self.head.tree_size,
            "timestamp": self.head.timestamp.isoformat(),
            "timestamp_us": to_us(self.head.timestamp),
            "root_hash": self.head.root_hash.hex(),
            "signature": self.signature.hex(),
            "public_key": self.public_key.hex(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SignedTreeHead:
        """From the site's JSON (``GET /api/log/``); FormatError if malformed. The time is
        taken from ``timestamp_us`` (exact), never from the display text."""
        try:
            head = TreeHead(int(data["tree_size"]), from_us(int(data["timestamp_us"])),
                            bytes.fromhex(data["root_hash"]))  # fmt: skip
            return cls(head, bytes.fromhex(data["signature"]), bytes.fromhex(data["public_key"]))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise FormatError(f"a malformed signed tree head: {exc}") from None

    def verify(self, public_key: bytes | None = None, backend: str = "native") -> None:
        """Check the signature against ``public_key`` (the one you trust), or against the
        key the head names when none is given."""
        key = self.public_key if public_key is None else public_key
        if key != self.public_key:
            raise VerificationError("the tree head names another signing key than the site's")
        self.head.verify(key, self.signature, backend)


def hashes_from_hex(items, what: str) -> list[bytes]:
    """A proof's hashes from the site's JSON; FormatError if malformed."""
    if not isinstance(items, list):
        raise FormatError(f"the {what} proof is not a list")
    try:
        out = [bytes.fromhex(h) for h in items]
    except (TypeError, ValueError):
        raise FormatError(f"the {what} proof holds a value that is not hex") from None
    if any(len(h) != HASH_BYTES for h in out):
        raise FormatError(f"the {what} proof holds a value that is not a SHA-256 hash")
    return out

"""The site's append-only commitment log (RFC 9162 hashing; issue 16): appending entries,
signing tree heads, and the proofs the API serves.

Every commitment the site registers is appended in the transaction that registers it, and
every competition's reveal once (``ensure_reveal_logged``: by the beat task, and by the
first request that needs the revealed test set). Appends lock the one ``LogState`` row
(SELECT … FOR UPDATE, after the competition row where both are taken, always in that
order), so entries get consecutive indices whatever runs concurrently, and the commitment
path refuses a competition whose reveal is already in the log: a commitment can never
follow its competition's reveal entry. Each append stores the perfect subtrees it completes
(``LogNode``) and a signed tree head for the new size (``LogHead``, signed with the receipt
key), so proofs cost O(log² n) lookups and no hashing of the whole log.

The math lives in ``zkproofs.merkle`` and the encodings in ``zkproofs.commitlog``; nothing
here decides what a proof means, only what the site has appended.
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from zkproofs import commitlog, merkle, timestamps

from ..models import (
    Competition,
    LogEntry,
    LogEntryKind,
    LogHead,
    LogNode,
    LogState,
    ModelCommitment,
)
from . import receipts
from .errors import ErrorCode, InvalidInput

HASH = merkle.HASH_BYTES


def _state() -> LogState:
    """The log's state row, locked; created on first use (racing creators: one wins)."""
    if not LogState.objects.filter(pk=1).exists():
        try:
            with transaction.atomic():
                LogState.objects.create(pk=1)
        except IntegrityError:
            pass
    return LogState.objects.select_for_update().get(pk=1)


def _frontier(state: LogState) -> list[bytes]:
    raw = bytes(state.frontier)
    return [raw[i : i + HASH] for i in range(0, len(raw), HASH)]


def _sign_head(size: int, root: bytes, now: datetime) -> LogHead:
    key, public = receipts.signing_key()
    head = commitlog.TreeHead(size, now, root)
    return LogHead.objects.create(tree_size=size, root_hash=root, timestamp=now,
                                  signature=head.sign(key), public_key=public.hex())  # fmt: skip


def append(entry: commitlog.Entry, *, competition: Competition,
           commitment: ModelCommitment | None = None, now: datetime) -> LogEntry:
    """Append ``entry`` (inside the caller's transaction) and sign the new head."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("log appends belong to the transaction that makes the entry true")
    state = _state()
    size = state.size
    data = commitlog.encode_entry(entry)
    frontier, completed = merkle.frontier_append(_frontier(state), size, merkle.leaf_hash(data))
    LogNode.objects.bulk_create(
        [LogNode(level=level, position=position, hash=h) for level, position, h in completed]
    )
    record = LogEntry.objects.create(
        index=size, kind=LogEntryKind(entry.kind.name.lower()), data=data,
        competition=competition, commitment=commitment, created_at=now,
    )  # fmt: skip
    state.size = size + 1
    state.frontier = b"".join(frontier)
    state.save(update_fields=["size", "frontier"])
    _sign_head(size + 1, merkle.frontier_root(frontier), now)
    return record


def reveal_entry(competition: Competition) -> LogEntry | None:
    return LogEntry.objects.filter(competition=competition, kind=LogEntryKind.REVEAL).first()


def ensure_reveal_logged(competition: Competition, now: datetime | None = None) -> LogEntry | None:
    """The competition's reveal entry, appended now if the reveal time has come and it is
    not in the log yet (idempotent; None before the reveal)."""
    now = now or timezone.now()
    if not competition.is_revealed(now):
        return None
    existing = reveal_entry(competition)
    if existing is not None:
        return existing
    with transaction.atomic():
        locked = Competition.objects.select_for_update().get(pk=competition.pk)
        existing = reveal_entry(locked)
        if existing is not None or not locked.is_revealed(now):
            return existing
        entry = commitlog.RevealEntry(
            competition_id=locked.uuid,
            test_set_digest=bytes.fromhex(locked.test_set_digest),
            salt=bytes.fromhex(locked.test_set_salt),
            reveal_at=locked.reveal_at,
            logged_at=now,
            authorities_digest=timestamps.authorities_digest(locked.authorities())
            or commitlog.NO_DIGEST,
        )
        return append(entry, competition=locked, now=now)


def log_due_reveals(now: datetime | None = None) -> int:
    """Append the reveal entry of every competition whose reveal time has passed (the beat
    task); how many were appended."""
    now = now or timezone.now()
    due = Competition.objects.filter(reveal_at__lte=now).exclude(test_set_digest="").exclude(
        log_entries__kind=LogEntryKind.REVEAL
    )
    count = 0
    for competition in due:
        if ensure_reveal_logged(competition, now) is not None:
            count += 1
    return count


# ------------------------------------------------------------------ reading: heads, proofs


def size() -> int:
    state = LogState.objects.filter(pk=1).first()
    return state.size if state else 0


def latest_head(now: datetime | None = None) -> LogHead:
    """The signed head of the log's current size (the empty log's head, signed once, if
    nothing was appended yet)."""
    head = LogHead.objects.order_by("-tree_size").first()
    if head is not None:
        return head
    with transaction.atomic():
        _state()  # serialises with appends
        head = LogHead.objects.order_by("-tree_size").first()
        if head is None:
            head = _sign_head(0, merkle.EMPTY_ROOT, now or timezone.now())
    return head


def signed_head(head: LogHead) -> dict:
    return commitlog.SignedTreeHead(
        commitlog.TreeHead(head.tree_size, head.timestamp, bytes(head.root_hash)),
        bytes(head.signature), bytes.fromhex(head.public_key),
    ).to_dict()  # fmt: skip


def _lookup():
    @functools.cache
    def lookup(level: int, position: int) -> bytes:
        node = LogNode.objects.filter(level=level, position=position).only("hash").first()
        if node is None:
            raise merkle.MerkleError(f"the log has no subtree at level {level}, {position}")
        return bytes(node.hash)

    return lookup


def _check_size(tree_size: int) -> None:
    current = size()
    if tree_size > current:
        raise InvalidInput(f"the log has {current} entries, not {tree_size}",
                           code=ErrorCode.LOG_OUT_OF_RANGE, field="tree_size")  # fmt: skip


def inclusion(index: int, tree_size: int) -> dict:
    _check_size(tree_size)
    if index >= tree_size:
        raise InvalidInput(f"entry {index} is not in a tree of {tree_size} entries",
                           code=ErrorCode.LOG_OUT_OF_RANGE, field="index")  # fmt: skip
    lookup = _lookup()
    return {
        "index": index,
        "tree_size": tree_size,
        "leaf_hash": lookup(0, index).hex(),
        "audit_path": [h.hex() for h in merkle.inclusion_proof(lookup, index, tree_size)],
    }


def consistency(first: int, second: int) -> dict:
    _check_size(second)
    if first > second:
        raise InvalidInput(f"a tree of {second} entries cannot extend one of {first}",
                           code=ErrorCode.LOG_OUT_OF_RANGE, field="first")  # fmt: skip
    proof = merkle.consistency_proof(_lookup(), first, second)
    return {"first": first, "second": second, "consistency_path": [h.hex() for h in proof]}


def entries(start: int, end: int) -> list[LogEntry]:
    return list(LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index"))

"""The site's receipt signing key: loading it, and signing commitment receipts.

The secret comes from the RECEIPT_SIGNING_KEY setting (hex). Only with DEBUG on, and
nothing configured, a development key is generated once into RECEIPT_SIGNING_KEY_FILE so
that a first run works; a deployment without a key refuses to sign rather than invent one
(receipts signed by a throwaway key would be worthless after a restart).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from zkproofs.receipts import Receipt, ReceiptSigningKey

ALGORITHM = "zkarena-receipt-v1: Schnorr over BLS12-381 G1 (zkproofs.receipts)"

_lock = threading.Lock()
_cached: tuple[ReceiptSigningKey, bytes] | None = None


def _parse(hex_text: str, origin: str) -> ReceiptSigningKey:
    try:
        return ReceiptSigningKey.from_bytes(bytes.fromhex(hex_text.strip()))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{origin} is not a valid receipt signing key (32-byte scalar, hex): {exc}"
        ) from None


def _load_or_create_dev_key(path: Path) -> ReceiptSigningKey:
    if path.exists():
        return _parse(path.read_text(), str(path))
    key = ReceiptSigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with owner-only permissions, and never overwritten if another process won.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.to_bytes().hex() + "\n")
    return key


def _load() -> ReceiptSigningKey:
    if settings.RECEIPT_SIGNING_KEY:
        return _parse(settings.RECEIPT_SIGNING_KEY, "RECEIPT_SIGNING_KEY")
    if settings.DEBUG:
        try:
            return _load_or_create_dev_key(Path(settings.RECEIPT_SIGNING_KEY_FILE))
        except FileExistsError:
            return _parse(Path(settings.RECEIPT_SIGNING_KEY_FILE).read_text(), "key file")
    raise ImproperlyConfigured(
        "RECEIPT_SIGNING_KEY is not set: commitments cannot be given receipts. "
        "Generate a key with `manage.py generate_receipt_key` and set it."
    )


def signing_key() -> tuple[ReceiptSigningKey, bytes]:
    """The key and its 48-byte public half (computed once per process)."""
    global _cached
    with _lock:
        if _cached is None:
            key = _load()
            _cached = (key, key.public_key())
        return _cached


def public_key_hex() -> str:
    return signing_key()[1].hex()


def sign(receipt: Receipt) -> tuple[bytes, bytes]:
    """(signature, public key) for ``receipt``."""
    key, public = signing_key()
    return key.sign(receipt), public


@receiver(setting_changed)
def _forget_key(setting: str, **kwargs: object) -> None:
    # Tests that change the key setting must see the new key.
    global _cached
    if setting in {"RECEIPT_SIGNING_KEY", "RECEIPT_SIGNING_KEY_FILE", "DEBUG"}:
        with _lock:
            _cached = None

"""Print a new receipt signing key (hex) for the RECEIPT_SIGNING_KEY setting."""

from django.core.management.base import BaseCommand

from zkproofs.receipts import ReceiptSigningKey


class Command(BaseCommand):
    help = "Generate a receipt signing key: set it as RECEIPT_SIGNING_KEY and keep it secret."

    def handle(self, *args, **options):
        key = ReceiptSigningKey.generate()
        self.stdout.write(key.to_bytes().hex())
        self.stderr.write(f"public key: {key.public_key().hex()}")

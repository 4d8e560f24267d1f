"""Real RFC 3161 timestamp authorities for the tests: OpenSSL's ``ts -reply`` behind the
small HTTP server of scripts/local_tsa.py, with keys and certificates made at run time in a
temporary folder (never committed). Two of them: one a competition lists, one it does not."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from zkproofs import timestamps

_SPEC = importlib.util.spec_from_file_location(
    "local_tsa", Path(__file__).resolve().parent.parent / "scripts" / "local_tsa.py"
)
local_tsa = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("local_tsa", local_tsa)
_SPEC.loader.exec_module(local_tsa)


@dataclass(frozen=True)
class RunningTSA:
    name: str
    url: str
    root_pem: str

    @property
    def listing(self) -> dict:
        """How a competition lists it (the API's `timestamp_authorities` item)."""
        return {"name": self.name, "url": self.url, "certificate": self.root_pem}

    @property
    def authority(self) -> timestamps.Authority:
        return timestamps.Authority.from_dict(self.listing)

    def stamp(self, message: bytes) -> bytes:
        return timestamps.request_token(self.authority, message)


@pytest.fixture(scope="session")
def tsas(tmp_path_factory):
    """(listed, unlisted): two running authorities for the whole session."""
    folder = tmp_path_factory.mktemp("tsa")
    listed = local_tsa.create_authority(folder / "listed", "Test TSA")
    rogue = local_tsa.create_authority(folder / "rogue", "Rogue TSA")
    with local_tsa.serve(listed) as url_a, local_tsa.serve(rogue) as url_b:
        yield (RunningTSA("Test TSA", url_a, listed.root_pem),
               RunningTSA("Rogue TSA", url_b, rogue.root_pem))  # fmt: skip

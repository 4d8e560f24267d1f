import hashlib
import uuid

import pytest

from zkproofs.params import get_params
from zkproofs.weights import CommitmentBinding


@pytest.fixture(scope="session")
def native():
    return get_params("native")


@pytest.fixture(scope="session")
def reference():
    # ~10 s once per test process: the pure-Python backend hashes all 514 generators.
    return get_params("reference")


@pytest.fixture(params=["native", "reference"])
def params(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def binding():
    return CommitmentBinding(
        competition_digest=hashlib.sha256(b"competition").digest(),
        submitter_id=uuid.UUID("00000000-0000-4000-8000-000000000001").bytes,
        architecture_digest=hashlib.sha256(b"architecture").digest(),
    )

"""``python -m zkproofs.cli``: the same as the ``zkarena`` console script."""

import sys

from . import main

sys.exit(main())

"""``python -m chestx.cli``: the ``chestx`` command (e.g. under ``torchrun -m chestx.cli``)."""

import sys

from chestx.cli import main

sys.exit(main())

"""``python -m routilux``: the command line (see :mod:`routilux.cli`)."""

import sys

from routilux.cli import main

sys.exit(main())

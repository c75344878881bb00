"""``python -m fastml``: the command line (see :mod:`fastml.cli`)."""

import sys

from fastml.cli import main

sys.exit(main())

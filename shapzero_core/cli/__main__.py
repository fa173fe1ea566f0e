"""``python -m shapzero_core.cli`` runs the ``shapzero`` command line."""

import sys

from . import main

sys.exit(main())

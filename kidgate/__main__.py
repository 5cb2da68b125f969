"""``python -m kidgate``: the same as the ``kidgate`` command."""

import sys

from kidgate.install import main

sys.exit(main())

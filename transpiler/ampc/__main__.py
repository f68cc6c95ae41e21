"""`python -m ampc` is the `ampc` command."""

import sys

from .cli import main

sys.exit(main())

"""`python -m augment ...` is the `augment` command."""

import sys

from augment.cli import main

sys.exit(main())

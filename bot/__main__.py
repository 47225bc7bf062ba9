"""`python -m bot` is `deploybot`."""

import sys

from bot.cli import main

sys.exit(main())

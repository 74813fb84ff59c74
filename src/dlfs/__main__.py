"""``python -m dlfs`` is the ``dlfs`` command."""
import sys

from .cli import main

sys.exit(main())

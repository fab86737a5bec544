"""``python -m adrec.experiments STUDY --model M ...``: the one command line for every row."""
import sys

from .runner import main

sys.exit(main())

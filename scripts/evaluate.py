"""Fast-adaptation evaluation of a run: the same as ``metarl evaluate`` (see ``--help``)."""

import sys

from metarl.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))

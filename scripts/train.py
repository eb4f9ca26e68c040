"""Meta-train an agent: the same as ``metarl train`` (see ``metarl train --help``)."""

import sys

from metarl.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

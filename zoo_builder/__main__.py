"""``python -m zoo_builder``: see :mod:`zoo_builder.cli`."""
import sys

from zoo_builder.cli import main

if __name__ == "__main__":  # the guard Dask's worker processes need
    sys.exit(main())

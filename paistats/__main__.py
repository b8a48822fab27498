import sys

from paistats.cli import main

sys.exit(main())

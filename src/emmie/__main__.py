import sys

from emmie.cli import main

sys.exit(main())

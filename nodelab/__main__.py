import sys

from nodelab.cli import main

sys.exit(main())

import sys

from matchbox.grader.cli import main

sys.exit(main())

import sys

from pbxcrm.cli import main

sys.exit(main())

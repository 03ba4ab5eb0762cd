"""``python -m apigee_lab.mgmt``: run the management API emulator."""
import sys

from . import main

sys.exit(main())

"""`python -m nai_sdk`: the `nai` command line (see `nai_sdk.cli`)."""

from __future__ import annotations

import sys

from nai_sdk.cli import main

if __name__ == "__main__":
    sys.exit(main())

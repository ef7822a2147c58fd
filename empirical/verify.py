"""``python -m empirical.verify RESULTS_DIR``: does the theory predict the measurement? (CLI only)."""

import sys

from empirical.analysis.verification import main

if __name__ == "__main__":
    sys.exit(main())

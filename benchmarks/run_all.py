"""`make bench`: every benchmark in this folder, each comparing against its baseline in the same run.

    python benchmarks/run_all.py [--rows N] [--customers N] [--scale 100000 1000000]

The nightly refresh at a million customers takes the longest (about an hour with generation).

Results land in benchmarks/results/. See docs/performance.md for how to read them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the ingest benchmark's day file")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers in the CLV benchmark")
    parser.add_argument("--scale", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="customers of each end-to-end nightly refresh (two years of demo data)")
    args = parser.parse_args()
    runs = [
        [sys.executable, str(HERE / "ingest.py"), "--rows", str(args.rows)],
        [sys.executable, str(HERE / "journeys_incremental.py")],
        [sys.executable, str(HERE / "clv_at_scale.py"), "--customers", str(args.customers)],
        *[[sys.executable, str(HERE / "nightly_refresh.py"), "--customers", str(n)] for n in args.scale],
    ]
    failed = 0
    for command in runs:
        print("$", " ".join(command[1:]), flush=True)
        failed += subprocess.call(command) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The SIGKILL chaos of tests/e2e/test_chaos.py at benchmark size: 200 kills
by default, 50 containers writing, rotating (rename and copytruncate),
restarting and deleting. Prints the figures (lines written, delivered,
missing, duplicated, and the duplicate bound); exits 1 on any loss.

    GLIMPSE_BIN=build/glimpse python3 tests/bench/chaos.py [--kills 200]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import test_chaos  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    try:
        test_chaos.chaos(kills=args.kills, containers=args.containers, seed=args.seed)
    except AssertionError as e:
        print(f"FAIL {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

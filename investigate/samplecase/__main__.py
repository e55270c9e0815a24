"""Command line: ``python -m investigate.samplecase OUT [--seed N] [--scale X]``."""

from __future__ import annotations

import argparse
import sys

from . import generate


def main(argv: list[str] | None = None) -> int:
    """Generate the case into OUT and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m investigate.samplecase",
        description="Write the fictional ReelRiver investigation case and its ground truth.")
    parser.add_argument("out", help="output folder (e.g. data_samples)")
    parser.add_argument("--seed", type=int, default=20221, help="random seed (default 20221)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="volume multiplier for access events and flows (default 1.0)")
    args = parser.parse_args(argv)
    truth = generate(args.out, seed=args.seed, scale=args.scale)
    rows = truth["rows"]
    print(f"wrote {args.out}: " + ", ".join(f"{k.split('/')[-1]} {v['read']} records"
                                             for k, v in rows.items()))
    cn = truth["cn_staff_access"]
    print(f"CN staff accesses to US user data: {cn['total']} (first {cn['first_date']}, "
          f"{cn['after_promise']} after the promise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

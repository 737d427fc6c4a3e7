#!/usr/bin/env python3
"""Inclusive instruction counts of named functions in a callgrind output file.

Usage: callgrind_inclusive.py CALLGRIND.OUT FUNCTION...
Prints `total N`, then `FUNCTION N` for each FUNCTION (0 if absent): the
largest inclusive count callgrind_annotate gives a function of exactly that
name, whatever file its lines are attributed to (an inlined function is
listed once per file; the largest entry is the whole function). Needs
callgrind_annotate (valgrind).
"""

import re
import subprocess
import sys

LINE = re.compile(r"^ *([0-9,]+) \( *[0-9.]+%\)  ?(.*?)(?: \[[^\]]*\])?$")


def inclusive(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
        capture_output=True, text=True, check=True,
    ).stdout
    counts = {}
    for line in out.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        count = int(match.group(1).replace(",", ""))
        name = match.group(2)
        name = re.sub(r"^=> ", "", name)
        name = re.sub(r"^[^ :]*\.(rs|c|h|S):", "", name)  # file:function
        name = re.sub(r" \([0-9,]+x\)$", "", name)  # (N calls)
        counts[name] = max(counts.get(name, 0), count)
    return counts


def main():
    path, names = sys.argv[1], sys.argv[2:]
    counts = inclusive(path)
    print(f"total {counts.get('PROGRAM TOTALS', 0)}")
    for name in names:
        print(f"{name} {counts.get(name, 0)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The peak heap of a massif profile, grouped by the innermost frame of our
crate (a function whose path starts with `outreach::`, with its file:line).

Usage: benches/massif_top.py massif.out [TOP]
"""

import re
import sys

FRAME = re.compile(r"^0x[0-9A-F]+: (outreach::\S+) \(([^)]+)\)")
NODE = re.compile(r"^( *)n(\d+): (\d+) (.*)$")


def main() -> int:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    peak_at = None
    heap = extra = 0
    for index, line in enumerate(lines):
        if line.startswith("mem_heap_B="):
            current_heap = int(line.split("=")[1])
        elif line.startswith("mem_heap_extra_B="):
            current_extra = int(line.split("=")[1])
        elif line == "heap_tree=peak":
            peak_at, heap, extra = index + 1, current_heap, current_extra
    if peak_at is None:
        print("no peak snapshot in", path)
        return 1
    print(f"peak heap {heap / 1e6:.1f} MB (+ {extra / 1e6:.1f} MB allocator overhead)")
    totals = {}
    stack = []
    for line in lines[peak_at:]:
        match = NODE.match(line)
        if not match:
            break
        depth, children, size, label = (
            len(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4))
        del stack[depth:]
        stack.append(label)
        if children:
            continue
        key = "(outside our crate)"
        for frame in stack:
            found = FRAME.match(frame)
            if found:
                key = f"{found.group(1)} ({found.group(2)})"
                break
        totals[key] = totals.get(key, 0) + size
    for key, size in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{size / 1e6:8.2f} MB {100 * size / heap:5.1f}%  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Write a synthetic recipients CSV (and optionally a template) for benchmarks.

The output is deterministic: the same arguments always give the same bytes,
so timings of `outreach plan` can be compared across builds.

Columns: recipient, first_name, company, account, priority.
- recipient: urn:li:person:<8 hex digits>, unique per row;
- first_name: from a small list, some with non-ASCII letters;
- company: from a small list, blank on every 7th row (exercises `{% if %}`);
- account: blank (round-robin over accounts), or with --accounts K, one of
  K names `acct0001`...;
- priority: a number from 1 to 5 on every 10th row, blank otherwise.

Usage:
  benches/gen_recipients.py ROWS OUT.csv [--accounts K] [--template OUT.txt]
"""

import argparse
import sys

FIRST_NAMES = [
    "Ann", "Bob", "Zoë", "José", "Łukasz", "Anaïs", "Mei", "Omar", "Priya",
    "Sven", "Chidi", "Hana", "Mateo", "Olga", "Kai", "Lena",
]
COMPANIES = [
    "Acme, Inc.", "Tyrell Corporation", "Stark Industries", "Initech",
    "Globex", "Umbrella", "Wayne Enterprises", "Hooli", "Cyberdyne",
    "Soylent", "Aperture Science",
]

TEMPLATE = """Subject: {{ first_name }}, a quick question{% if company %} about {{ company }}{% endif %}

Hi {{ first_name }},

I came across your work{% if company %} at {{ company }}{% endif %} and would love to compare notes on how your team runs outreach without tripping rate limits.

Would a 15-minute call next week work?

Best,
Sam
"""


def quote(field: str) -> str:
    if any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--accounts", type=int, default=0,
                        help="distinct account names (0: leave the column blank)")
    parser.add_argument("--template", help="also write the benchmark template here")
    args = parser.parse_args()

    with open(args.out, "w", encoding="utf-8", newline="") as out:
        out.write("recipient,first_name,company,account,priority\n")
        lines = []
        for i in range(args.rows):
            company = "" if i % 7 == 6 else COMPANIES[i % len(COMPANIES)]
            account = f"acct{i % args.accounts:04d}" if args.accounts else ""
            priority = str(1 + (i // 10) % 5) if i % 10 == 0 else ""
            lines.append(",".join((
                f"urn:li:person:{i:08x}",
                FIRST_NAMES[(i * 7) % len(FIRST_NAMES)],
                quote(company),
                account,
                priority,
            )))
            if len(lines) == 10000:
                out.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            out.write("\n".join(lines) + "\n")
    if args.template:
        with open(args.template, "w", encoding="utf-8") as out:
            out.write(TEMPLATE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Timing statistics from an `outreach send --events FILE` log.

For every message sent (first attempt):
- start lateness: the `sending` event's ts (the request leaves, after the
  durable claim) minus the message's planned time (`planned` event `at`);
- sent lateness: the `late_ms` of the `sent` event (response received minus
  planned time, so it includes the HTTP round trip and the claim's commit).
Where the time goes, per request:
- slot -> sending: from the slot the account waited for (`waiting` event
  `at`) to the request leaving: timer overshoot plus the durable claim;
- sending -> sent: the HTTP round trip.
Also the throughput of the send phase: messages sent divided by the time from
the first `sending` to the last `sent` event.

Usage: benches/events_stats.py EVENTS.jsonl [--json] [--since-start EPOCH_NS]
  --since-start: also print the time from EPOCH_NS (e.g. the process start,
  from `date +%s%N`) to the first `sending` event.
"""

import argparse
import json
import sys
from datetime import datetime, timezone


def ns(ts: str) -> int:
    """RFC 3339 (as chrono writes it, up to 9 fraction digits) to Unix ns."""
    ts = ts.replace("Z", "+00:00")
    main, offset = ts[:19], ts[19:]
    fraction = 0
    if offset.startswith("."):
        digits = ""
        rest = offset[1:]
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        fraction = int((digits + "000000000")[:9])
        offset = rest
    moment = datetime.fromisoformat(main + (offset or "+00:00"))
    return int(moment.astimezone(timezone.utc).timestamp()) * 1_000_000_000 + fraction


def percentile(values, p):
    """Nearest-rank percentile of a sorted list."""
    if not values:
        return float("nan")
    rank = max(1, -(-len(values) * p // 100))
    return values[int(rank) - 1]


def summary(name, values):
    values = sorted(values)
    return {
        "what": name,
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p90_ms": percentile(values, 90),
        "p99_ms": percentile(values, 99),
        "max_ms": values[-1] if values else float("nan"),
        "min_ms": values[0] if values else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("events")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--since-start", type=int, metavar="EPOCH_NS")
    args = parser.parse_args()

    planned, first_sending, sent_late = {}, {}, []
    slot_of, last_sending, claim, round_trip = {}, {}, [], []
    first_sending_ns, last_sent_ns, sent = None, None, 0
    counts = {}
    with open(args.events, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            kind = event["event"]
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "planned":
                planned[event["seq"]] = ns(event["at"])
            elif kind == "waiting":
                slot_of[event["account"]] = ns(event["at"])
            elif kind == "sending":
                at = ns(event["ts"])
                last_sending[event["seq"]] = at
                if event["account"] in slot_of:
                    claim.append((at - slot_of.pop(event["account"])) / 1e6)
                if event["attempt"] != 1:
                    continue
                first_sending.setdefault(event["seq"], at)
                if first_sending_ns is None:
                    first_sending_ns = at
            elif kind == "sent":
                sent += 1
                sent_late.append(event["late_ms"])
                last_sent_ns = ns(event["ts"])
                if event["seq"] in last_sending:
                    round_trip.append((last_sent_ns - last_sending[event["seq"]]) / 1e6)
    start_late = [
        (at - planned[seq]) / 1e6 for seq, at in first_sending.items() if seq in planned
    ]
    result = {
        "events": counts,
        "start_lateness": summary("sending.ts - planned.at", start_late),
        "sent_lateness": summary("sent.late_ms", sent_late),
        "slot_to_sending": summary("slot -> sending", claim),
        "sending_to_sent": summary("sending -> sent", round_trip),
        "sent": sent,
    }
    if first_sending_ns is not None and last_sent_ns is not None and sent > 1:
        seconds = (last_sent_ns - first_sending_ns) / 1e9
        result["send_phase_s"] = seconds
        result["messages_per_s"] = sent / seconds if seconds > 0 else float("inf")
    if args.since_start is not None and first_sending_ns is not None:
        result["to_first_sending_ms"] = (first_sending_ns - args.since_start) / 1e6

    if args.json:
        print(json.dumps(result))
        return 0
    for key in ("start_lateness", "sent_lateness", "slot_to_sending", "sending_to_sent"):
        s = result[key]
        print(
            f"{s['what']:<26} n={s['n']:<6} p50 {s['p50_ms']:.1f} ms, p90 {s['p90_ms']:.1f} ms, "
            f"p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms (min {s['min_ms']:.1f})"
        )
    if "messages_per_s" in result:
        print(
            f"send phase: {sent} sent in {result['send_phase_s']:.2f} s = "
            f"{result['messages_per_s']:.0f} messages/s"
        )
    if "to_first_sending_ms" in result:
        print(f"process start -> first sending: {result['to_first_sending_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

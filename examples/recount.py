#!/usr/bin/env python3
"""Recount every closed vote of a hivegov governance from its audit log alone: Python's standard
library, nothing from hivegov-mcp, its own counting rule written out below.

    python examples/recount.py --url http://127.0.0.1:8000 --token "$TOKEN"   # any agent's token
    python examples/recount.py --file events.json                            # a saved log

The log is read with `GET /api/governance/audit` (a page of 500 events at a time), or from a file
holding a JSON list of events (what that endpoint returns under "events", pages joined). For each
vote that closed, the event that opened it gives the electorate (agent -> weight); the event that
closed it gives the ballots counted, the quorum and threshold it was counted under, and what it
recorded: the tally, whether the quorum was met, the reason and the outcome. The rule (DESIGN §3):

- voted weight = the weight of every eligible agent who cast a ballot (abstentions included);
- the quorum is met when voted weight >= quorum x eligible weight;
- approved when the quorum is met and approve > 0 and approve >= threshold x (approve + reject);
- else rejected, for quorum_not_met or threshold_not_met.

Check the log itself first (`verify_receipt.py` proves events against a signed checkpoint). A vote
closed before closing events recorded their quorum and threshold is skipped and said so. Exit 0
when every recount agrees, 1 naming each that does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from fractions import Fraction
from typing import Any

DECISIONS = ("approve", "reject", "abstain")


def recount(eligible: dict[str, int], ballots: dict[str, str], quorum: Fraction, threshold: Fraction) -> dict[str, Any]:
    counts = dict.fromkeys(DECISIONS, 0)
    for agent, decision in ballots.items():
        counts[decision] += eligible[agent]
    total = sum(eligible.values())
    voted = sum(counts.values())
    quorum_met = total > 0 and voted >= quorum * total
    decisive = counts["approve"] + counts["reject"]
    passes = counts["approve"] > 0 and counts["approve"] >= threshold * decisive
    if not quorum_met:
        to, reason = "rejected", "quorum_not_met"
    elif not passes:
        to, reason = "rejected", "threshold_not_met"
    else:
        to, reason = "approved", None
    return {"tally": counts, "quorum_met": quorum_met, "reason": reason, "to": to}


def check(events: list[dict[str, Any]]) -> tuple[list[str], int, int]:
    """Lines to print, votes recounted, votes that disagree."""
    opened: dict[str, dict[str, int]] = {}
    lines: list[str] = []
    counted = wrong = 0
    for e in events:
        p, pid = e.get("payload", {}), e.get("subject", "")
        if p.get("to") == "voting" and p.get("from") != "voting" and isinstance(p.get("eligible"), dict):
            opened[pid] = {str(a): int(w) for a, w in p["eligible"].items()}
        if "ballots" not in p or "to" not in p:
            continue
        if "quorum" not in p or pid not in opened:
            lines.append(f"{pid} (#{e['seq']}): skipped, closed before closing events recorded their rules")
            continue
        mine = recount(opened[pid], p["ballots"], Fraction(p["quorum"]), Fraction(p["approval_threshold"]))
        logged = {k: p.get(k) for k in mine}
        counted += 1
        if mine == logged:
            t = mine["tally"]
            lines.append(
                f"{pid} (#{e['seq']}): {mine['to']}, {t['approve']}-{t['reject']}-{t['abstain']}, recounted ok"
            )
        else:
            wrong += 1
            lines.append(f"{pid} (#{e['seq']}): MISCOUNTED: the log says {logged}; its ballots give {mine}")
    return lines, counted, wrong


def fetch(url: str, token: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        query = urllib.parse.urlencode({"after_seq": after, "limit": 500})
        request = urllib.request.Request(
            f"{url.rstrip('/')}/api/governance/audit?{query}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            page = json.load(answer)
        events += page["events"]
        if page.get("next_after_seq") is None:
            return events
        after = page["next_after_seq"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Recount every closed vote from the audit log alone.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="the server, e.g. http://127.0.0.1:8000 (with --token)")
    source.add_argument("--file", help="a JSON list of audit events")
    parser.add_argument("--token", help="any agent's token (for --url)")
    args = parser.parse_args(argv)
    if args.url and not args.token:
        parser.error("--url needs --token (any agent's)")
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            events = json.load(f)
    else:
        events = fetch(args.url, args.token)
    lines, counted, wrong = check(events)
    print("\n".join(lines))
    print(
        f"{counted} closed vote(s) recounted from {len(events)} events: "
        + (f"{wrong} MISCOUNTED" if wrong else "all agree")
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

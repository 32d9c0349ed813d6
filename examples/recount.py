#!/usr/bin/env python3
"""Recount every closed vote of a hivegov governance from its audit log alone: Python's standard
library, nothing from hivegov-mcp, its own counting rules written out below.

    python examples/recount.py --url http://127.0.0.1:8000 --token "$TOKEN"   # any agent's token
    python examples/recount.py --file events.json                            # a saved log

The log is read with `GET /api/governance/audit` (a page of 500 events at a time), or from a file
holding a JSON list of events (what that endpoint returns under "events", pages joined). Events are
read in order. For each vote that closed:

- the event that opened it gives the electorate (agent -> weight); the proposal's `create_proposal`
  event gives its type;
- the `delegate_vote` / `revoke_delegation` events before the close (subject `agent:ID`) give the
  delegations in force: for each agent, its delegation for the proposal's type, else its delegation
  for every type. They must be the ones the closing event says it followed;
- the event that closed it gives the ballots counted, the method, the quorum (and threshold) it was
  counted under, and what it recorded.

Delegation (DESIGN §20): an eligible agent who voted counts its own weight. One who did not vote
passes its weight along its chain of delegates to the first eligible agent who voted; a chain that
comes back on itself, or ends at someone who neither voted nor delegated, carries nothing. Then,
with W(b) the weight ballot b carries and E the electorate's weight:

- the quorum is met when sum of W >= quorum x E (and E > 0);
- majority: approved when the quorum is met and approve > 0 and approve >= threshold x (approve +
  reject), else rejected for quorum_not_met or threshold_not_met;
- approval: an option's figure is the weight approving it;
- score: its weighted mean score, sum(W x score) / sum(W);
- ranked (Schulze): d[x][y] is the weight ranking x above y (a ranked option is above every option
  left out); p is the strongest-path matrix (a link x->y has strength d[x][y] when d[x][y] > d[y][x];
  a path is as strong as its weakest link); x beats y when p[x][y] > p[y][x]; the figure is how many
  options an option beats; the order is tiers of options no remaining option beats;
- ranked_irv: rounds of first preferences among continuing options; one holding more than half of
  the weight on continuing options wins, else the least is eliminated (the last listed of those
  tied for least);
- the winner is the first listed option of the first tier, if the quorum is met and some ballot
  supports an option (else no winner: quorum_not_met, or no_support); a winner approves the
  proposal. The tie rule's wording in the result is the server's and is not compared.

Check the log itself first (`verify_receipt.py` proves events against a signed checkpoint), and note
what this does not see: that the method and quorum an event states are those of the rules version
it froze (`hivegov-mcp audit verify` checks that, with the rules). A vote closed before closing
events recorded their rules is skipped and said so. Exit 0 when every recount agrees, 1 naming
each that does not.
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
COMPARED = (  # the result record's keys this script recomputes (not "tie_rule", which is prose)
    "method",
    "winner",
    "reason",
    "quorum_met",
    "eligible_weight",
    "voted_weight",
    "totals",
    "order",
    "tied",
    "pairwise",
    "strongest_paths",
    "schulze_winners",
    "rounds",
)


def text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# --- delegation ---------------------------------------------------------------------------------


def carried_weights(
    eligible: dict[str, int], voted: set[str], delegations: dict[str, str]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """The weight each ballot carries, and who delegated to it (for ballots that carry others')."""
    voters = {a for a in eligible if a in voted}
    weight = {a: eligible[a] for a in voters}
    delegators: dict[str, list[str]] = {a: [] for a in voters}
    for agent in sorted(eligible):
        if agent in voters:
            continue
        seen, step = {agent}, delegations.get(agent)
        while step is not None and step not in voters and step not in seen:
            seen.add(step)
            step = delegations.get(step)
        if step is not None and step in voters:  # else no delegation, a dead end or a cycle
            weight[step] += eligible[agent]
            delegators[step].append(agent)
    return weight, delegators


# --- the methods --------------------------------------------------------------------------------


def quorum_met(eligible: dict[str, int], voted: int, quorum: Fraction) -> bool:
    total = sum(eligible.values())
    return total > 0 and voted >= quorum * total


def tiers(options: list[int], figure: dict[int, Any]) -> list[list[int]]:
    levels = sorted(set(figure.values()), reverse=True)
    return [[o for o in options if figure[o] == level] for level in levels]


def majority(
    eligible: dict[str, int], ballots: dict[str, str], weight: dict[str, int], rules: dict[str, Fraction]
) -> dict[str, Any]:
    counts = dict.fromkeys(DECISIONS, 0)
    for agent, decision in ballots.items():
        counts[decision] += weight[agent]
    met = quorum_met(eligible, sum(counts.values()), rules["quorum"])
    decisive = counts["approve"] + counts["reject"]
    passes = counts["approve"] > 0 and counts["approve"] >= rules["threshold"] * decisive
    if not met:
        to, reason = "rejected", "quorum_not_met"
    elif not passes:
        to, reason = "rejected", "threshold_not_met"
    else:
        to, reason = "approved", None
    consensus = Fraction(counts["approve"], decisive) if decisive else Fraction(0)
    return {"tally": counts, "quorum_met": met, "reason": reason, "to": to, "consensus": consensus}


def schulze(options: list[int], ballots: dict[str, Any], weight: dict[str, int]) -> dict[str, Any]:
    n = len(options)
    d = [[0] * n for _ in range(n)]
    for agent, ballot in ballots.items():
        ranked = [o - 1 for o in ballot["ranking"]]
        below = [*ranked, *(i for i in range(n) if i not in ranked)]
        for place, i in enumerate(ranked):
            for j in below[place + 1 :]:
                d[i][j] += weight[agent]
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if len({i, j, k}) == 3:
                    p[i][j] = max(p[i][j], min(p[i][k], p[k][j]))
    beats = {options[x]: sum(1 for y in range(n) if p[x][y] > p[y][x]) for x in range(n)}
    order, remaining = [], list(range(n))
    while remaining:
        tier = [x for x in remaining if all(p[x][y] >= p[y][x] for y in remaining)]
        order.append([options[x] for x in tier])
        remaining = [x for x in remaining if x not in tier]
    return {
        "totals": beats,
        "order": order,
        "pairwise": d,
        "strongest_paths": p,
        "schulze_winners": order[0],
        "supported": any(any(row) for row in d),
    }


def runoff(options: list[int], ballots: dict[str, Any], weight: dict[str, int]) -> dict[str, Any]:
    continuing, rounds, winner = list(options), list[dict[str, Any]](), None
    while continuing:
        first = dict.fromkeys(continuing, 0)
        exhausted = 0
        for agent, ballot in ballots.items():
            top = next((o for o in ballot["ranking"] if o in first), None)
            if top is None:
                exhausted += weight[agent]
            else:
                first[top] += weight[agent]
        done = {"number": len(rounds) + 1, "totals": first, "exhausted": exhausted, "eliminated": None}
        live = sum(first.values())
        leader = max(continuing, key=lambda o: first[o])
        if live == 0 or 2 * first[leader] > live:
            rounds.append({**done, "tied_for_last": []})
            winner = leader if live else None
            break
        least = [o for o in continuing if first[o] == min(first.values())]
        rounds.append({**done, "eliminated": least[-1], "tied_for_last": least if len(least) > 1 else []})
        continuing.remove(least[-1])
    last = rounds[-1]["totals"]
    others = {o: w for o, w in last.items() if o != winner}
    gone = [r["eliminated"] for r in reversed(rounds) if r["eliminated"] is not None]
    before = rounds[-2]["totals"] if len(rounds) > 1 else {}
    return {
        "totals": {o: last.get(o, 0) for o in options},
        "order": ([[winner]] if winner else []) + tiers(list(others), others) + [[o] for o in gone],
        "rounds": [{**r, "totals": {str(o): w for o, w in r["totals"].items()}} for r in rounds],
        "leader": winner,
        "tied": list(before) if winner and len(set(before.values())) == 1 else [],
        "supported": winner is not None,
    }


def on_options(
    method: str,
    eligible: dict[str, int],
    ballots: dict[str, Any],
    weight: dict[str, int],
    labels: list[str],
    quorum: Fraction,
) -> dict[str, Any]:
    options = list(range(1, len(labels) + 1))
    voted = sum(weight[a] for a in ballots)
    count: dict[str, Any] = {"pairwise": [], "strongest_paths": [], "schulze_winners": [], "rounds": []}
    if method == "approval":
        approving = {o: sum(weight[a] for a, b in ballots.items() if o in b["approvals"]) for o in options}
        count |= {"totals": approving, "supported": any(approving.values())}
    elif method == "score":
        sums = {o: sum(weight[a] * b["scores"][str(o)] for a, b in ballots.items()) for o in options}
        means = {o: Fraction(sums[o], voted) if voted else Fraction(0) for o in options}
        count |= {"totals": means, "supported": any(means.values())}
    elif method == "ranked":
        count |= schulze(options, ballots, weight)
    elif method == "ranked_irv":
        count |= runoff(options, ballots, weight)
    else:
        raise ValueError(f"no such method: {method}")
    order = count.get("order") or tiers(options, count["totals"])
    leader = count["leader"] if method == "ranked_irv" else (order[0][0] if count["supported"] else None)
    tied = count["tied"] if method == "ranked_irv" else (order[0] if count["supported"] and len(order[0]) > 1 else [])
    met = quorum_met(eligible, voted, quorum)
    winner = leader if met else None
    reason = None if winner else ("quorum_not_met" if not met else "no_support")
    totals = {str(o): text(f) if isinstance(f, Fraction) else f for o, f in count["totals"].items()}
    result = {
        "method": method,
        "winner": winner,
        "reason": reason,
        "quorum_met": met,
        "eligible_weight": sum(eligible.values()),
        "voted_weight": voted,
        "totals": totals,
        "order": order,
        "tied": tied if winner else [],
        "pairwise": count["pairwise"],
        "strongest_paths": count["strongest_paths"],
        "schulze_winners": count["schulze_winners"],
        "rounds": count["rounds"],
    }
    return {
        "result": result,
        "quorum_met": met,
        "reason": reason,
        "to": "approved" if winner else "rejected",
        "consensus": consensus(method, winner, count, voted),
    }


def consensus(method: str, winner: int | None, count: dict[str, Any], voted: int) -> Fraction:
    """The share of the voted weight behind the winner (DESIGN §20, the metrics)."""
    if winner is None or voted == 0:
        return Fraction(0)
    if method == "score":
        return Fraction(count["totals"][winner]) / 5
    if method == "ranked":
        d = count["pairwise"]
        above = [d[winner - 1][o] for o in range(len(d)) if o != winner - 1]
        return Fraction(min(above, default=voted), voted)
    return Fraction(count["totals"][winner], voted)  # approval: its weight; ranked_irv: its last round


# --- the log ------------------------------------------------------------------------------------


def recount(
    p: dict[str, Any], eligible: dict[str, int], delegations: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the closing event `p` recorded, and what its ballots give (same keys)."""
    ballots = p["ballots"]
    weight, delegators = carried_weights(eligible, set(ballots), delegations)
    strangers = sorted(set(ballots) - set(eligible))
    if strangers:
        raise ValueError(f"ballots from outside the electorate: {strangers}")
    if "method" in p:
        mine = on_options(p["method"], eligible, ballots, weight, p["options"], Fraction(p["quorum"]))
    else:
        rules = {"quorum": Fraction(p["quorum"]), "threshold": Fraction(p["approval_threshold"])}
        mine = majority(eligible, ballots, weight, rules)
    mine["delegations"] = delegations
    mine["carried"] = {v: {"weight": weight[v], "delegated_by": by} for v, by in sorted(delegators.items()) if by}
    logged = {k: p.get(k) for k in mine}
    logged["delegations"] = p.get("delegations", {})
    logged["carried"] = p.get("carried", {})
    result = logged.get("result")
    if isinstance(result, dict):
        logged["result"] = {k: result.get(k) for k in COMPARED}
    if "consensus" in p:  # written "2/3" or "1": compared as a number
        logged["consensus"] = Fraction(str(p["consensus"]))
    elif "method" not in p:  # a majority vote closed before its consensus was recorded
        del logged["consensus"], mine["consensus"]
    return logged, mine


def effective(held: dict[tuple[str, str], str], proposal_type: str) -> dict[str, str]:
    """Each agent's delegation for `proposal_type`, else its delegation for every type ("")."""
    found = {agent: to for (agent, kind), to in held.items() if kind == ""}
    found |= {agent: to for (agent, kind), to in held.items() if kind == proposal_type}
    return dict(sorted(found.items()))


def summary(mine: dict[str, Any]) -> str:
    if "tally" in mine:
        t = mine["tally"]
        return f"{t['approve']}-{t['reject']}-{t['abstain']}"
    winner = mine["result"]["winner"]
    return f"{mine['result']['method']}, " + (f"option {winner} won" if winner else f"no winner ({mine['reason']})")


def check(events: list[dict[str, Any]]) -> tuple[list[str], int, int]:
    """Lines to print, votes recounted, votes that disagree."""
    opened: dict[str, dict[str, int]] = {}
    types: dict[str, str] = {}
    held: dict[tuple[str, str], str] = {}  # (agent, proposal type or "") -> delegate
    lines: list[str] = []
    counted = wrong = 0
    for e in events:
        p, pid, action = e.get("payload", {}), e.get("subject", ""), e.get("action")
        if action in ("delegate_vote", "revoke_delegation") and pid.startswith("agent:"):
            key = (pid.removeprefix("agent:"), p.get("proposal_type") or "")
            if action == "delegate_vote":
                held[key] = p["to"]
            else:
                held.pop(key, None)
            continue
        if action == "create_proposal" and "type" in p:
            types[pid] = p["type"]
        if p.get("to") == "voting" and p.get("from") != "voting" and isinstance(p.get("eligible"), dict):
            opened[pid] = {str(a): int(w) for a, w in p["eligible"].items()}
        if "ballots" not in p or "to" not in p:
            continue
        if "quorum" not in p or pid not in opened:
            lines.append(f"{pid} (#{e['seq']}): skipped, closed before closing events recorded their rules")
            continue
        counted += 1
        try:
            logged, mine = recount(p, opened[pid], effective(held, types.get(pid, "")))
        except (KeyError, TypeError, ValueError) as exc:
            wrong += 1
            lines.append(f"{pid} (#{e['seq']}): MISCOUNTED: its ballots can't be counted: {exc!r}")
            continue
        if logged == mine:
            lines.append(f"{pid} (#{e['seq']}): {mine['to']}, {summary(mine)}, recounted ok")
        else:
            wrong += 1
            differ = ", ".join(
                f"{k}: the log says {logged[k]}; its ballots give {mine[k]}" for k in mine if logged[k] != mine[k]
            )
            lines.append(f"{pid} (#{e['seq']}): MISCOUNTED: {differ}")
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

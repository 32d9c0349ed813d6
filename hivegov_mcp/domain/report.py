"""`hivegov-mcp report`: the metrics of DESIGN §15 as Markdown (rendering only)."""

from __future__ import annotations

from hivegov_mcp.domain.record_models import GovernanceMetrics


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def metrics_markdown(m: GovernanceMetrics) -> str:
    lines = [
        "# Governance report",
        "",
        f"From {m.since.isoformat(timespec='seconds')} to {m.until.isoformat(timespec='seconds')} (UTC), "
        "computed from the audit log.",
        "",
        "## Success criteria",
        "",
        "| criterion | measured | target | met | counted |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for c in m.criteria:
        met = "n/a" if c.met is None else ("yes" if c.met else "no")
        lines.append(f"| {c.name} | {_share(c.value)} | {c.target:.0%} | {met} | {c.numerator} / {c.denominator} |")
    lines += [
        "",
        "## Time in each status",
        "",
        "| status | median min | p90 min | stays |",
        "| --- | ---: | ---: | ---: |",
    ]
    for p in m.phases:
        lines.append(f"| {p.status.value} | {p.median_minutes:.1f} | {p.p90_minutes:.1f} | {p.stays} |")
    if m.agents:
        lines += [
            "",
            "## Agents",
            "",
            "| agent | proposals | comments | objections raised | resolved | votes | matched outcome "
            "| model requests | model tokens |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for a in m.agents:
            lines.append(
                f"| {a.agent_id} | {a.proposals} | {a.comments} | {a.objections_raised} | {a.objections_resolved} "
                f"| {a.votes} | {_share(a.matched_outcome)} | {a.model_requests} | {a.model_tokens} |"
            )
    return "\n".join(lines) + "\n"

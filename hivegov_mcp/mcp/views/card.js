"use strict";
// The proposal card: get_proposal's result, then (through the host) its discussion and, once a
// vote has been held, its results.
const DEADLINE_WORDS = {
  discussion: "Discussion ends",
  voting: "Voting closes",
  approved: "Appeal window ends",
  rejected: "Appeal window ends",
  executing: "Execution claim expires",
};
const SECTIONS = [["abstract", "Abstract"], ["motivation", "Motivation"], ["specification", "Specification"],
  ["implementation", "Implementation"]];
const VOTE_HELD = new Set(["voting", "approved", "rejected", "executing", "executed", "execution_failed",
  "rolled_back"]);

function isProposal(data) {
  return typeof data.id === "string" && typeof data.status === "string" && typeof data.abstract === "string";
}

function statusBadge(status) {
  const badge = el("span", "status", status);
  badge.dataset.status = status;
  return badge;
}

function cardNode(p, onBack) {
  const card = el("article", "card");
  card.dataset.proposal = p.id;
  card.append(el("h1", "title", p.title));
  const meta = el("p", "meta");
  meta.append(el("span", "id", p.id), el("span", "", p.type), statusBadge(p.status),
    el("span", "", `version ${p.version} of ${p.latest_version}`), el("span", "", `by ${p.author}`));
  card.append(meta);
  if (p.deadline) {
    card.append(el("p", "deadline", `${DEADLINE_WORDS[p.status] || "Deadline"}: ${when(p.deadline)}`));
  }
  if (p.outcome_reason) card.append(el("p", "muted", p.outcome_reason));
  for (const [field, heading] of SECTIONS) {
    if (!p[field]) continue;
    const section = el("section", field);
    section.append(el("h2", "", heading), el("p", "text", p[field]));
    card.append(section);
  }
  if (p.options && p.options.length) {
    const section = el("section", "options");
    const list = el("ol");
    for (const label of p.options) list.append(el("li", "", label));
    section.append(el("h2", "", "Options"), list);
    card.append(section);
  }
  if (p.dependencies && p.dependencies.length) {
    card.append(el("p", "muted", `Depends on ${p.dependencies.join(", ")}`));
  }
  const discussion = el("section", "discussion");
  const results = el("section", "results");
  card.append(discussion, results);
  const actions = el("div", "actions");
  if (onBack) {
    const back = el("button", "back", "Back to the board");
    back.type = "button";
    back.addEventListener("click", onBack);
    actions.append(back);
  }
  if (Host.canCallTools) {
    const refresh = el("button", "refresh", "Refresh");
    refresh.type = "button";
    refresh.addEventListener("click", () => openProposal(p.id, onBack));
    actions.append(refresh);
  }
  card.append(actions);
  if (Host.canCallTools) {
    if (p.round > 0) loadDiscussion(discussion, p);
    if (VOTE_HELD.has(p.status)) loadResults(results, p);
  }
  return card;
}

function showProposal(p, onBack) {
  if (!isProposal(p)) return false;
  replaceView(cardNode(p, onBack));
  return true;
}

async function openProposal(id, onBack) {
  try {
    if (!showProposal(await Host.callTool("get_proposal", { proposal_id: id }), onBack)) {
      showError("get_proposal answered something other than a proposal.");
    }
  } catch (error) {
    showError(error.message);
  }
}

async function loadDiscussion(section, p) {
  section.replaceChildren(el("h2", "", "Discussion"), el("p", "muted", "Loading the discussion…"));
  let d;
  try {
    d = await Host.callTool("get_discussion", { proposal_id: p.id, limit: 1 });
  } catch (error) {
    section.replaceChildren(el("h2", "", "Discussion"), el("p", "error", error.message));
    return;
  }
  const rounds = d.rounds || [];
  const last = rounds[rounds.length - 1];
  const objections = (d.unresolved_objections || []).length;
  section.replaceChildren(el("h2", "", "Discussion"));
  section.append(el("p", "counts", `${d.comment_count} comment${d.comment_count === 1 ? "" : "s"} over ` +
    `${rounds.length} round${rounds.length === 1 ? "" : "s"}; ${objections} unresolved objection` +
    `${objections === 1 ? "" : "s"}.`));
  if (last && last.outcome) section.append(el("p", "muted", `Round ${last.round} ended: ${last.outcome}.`));
  const published = d.published_summaries || [];
  const latest = published[published.length - 1];
  if (latest) {
    section.append(el("p", "muted", `Summary by ${latest.author} (round ${latest.round}), recommending ` +
      `${latest.recommendation}:`), el("p", "text published", latest.text));
  }
  const digest = el("div", "digest");
  const summarize = el("button", "summarize", "Summarize the discussion");
  summarize.type = "button";
  summarize.addEventListener("click", () => summarizeInto(digest, summarize, p.id));
  section.append(digest, el("div", "actions"));
  section.lastChild.append(summarize);
}

async function summarizeInto(digest, button, id) {
  button.disabled = true;
  try {
    const s = await Host.callTool("summarize_discussion", { proposal_id: id });
    const counts = Object.entries(s.counts || {}).filter(([, n]) => n > 0).map(([type, n]) => `${n} ${type}`)
      .join(", ");
    const ratio = s.support_ratio === null || s.support_ratio === undefined ? "no support or objection"
      : `support ${Math.round(s.support_ratio * 100)}%`;
    digest.replaceChildren(
      el("p", "recommendation", `Recommendation: ${s.recommendation} (${ratio}; ${counts || "no comments"}).`),
      el("p", "text", s.digest));
  } catch (error) {
    digest.replaceChildren(el("p", "error", error.message));
  } finally {
    button.disabled = false;
  }
}

async function loadResults(section, p) {
  section.replaceChildren(el("h2", "", "Vote"), el("p", "muted", "Loading the results…"));
  let r;
  try {
    r = await Host.callTool("get_voting_results", { proposal_id: p.id });
  } catch (error) {
    section.replaceChildren(el("h2", "", "Vote"), el("p", "muted", error.message));
    return;
  }
  section.replaceChildren(el("h2", "", "Vote"));
  const voted = `${r.votes_cast} of ${Object.keys(r.eligible || {}).length} eligible voted ` +
    `(weight ${r.voted_weight} of ${r.eligible_weight}; quorum ${r.quorum}, ${r.quorum_met ? "met" : "not met"}).`;
  if (r.status === "voting") {
    section.append(el("p", "", `Voting is open (${r.method}). ${voted}`));
    if (!r.tally && !r.option_tally) section.append(el("p", "muted", "The tally is shown after the vote closes."));
  } else {
    const outcome = `Result: ${r.result || r.status}${r.reason ? ` (${r.reason})` : ""}, by ${r.method}.`;
    section.append(el("p", "outcome", outcome), el("p", "muted", voted));
  }
  if (r.consensus !== null && r.consensus !== undefined) {
    const threshold = r.approval_threshold ? ` (threshold ${r.approval_threshold})` : "";
    section.append(el("p", "consensus", `Consensus ${Math.round(r.consensus * 1000) / 10}%${threshold}.`));
  }
  if (r.tally) section.append(tallyTable([["approve", r.tally.approve], ["reject", r.tally.reject],
    ["abstain", r.tally.abstain]].map(([label, n]) => ({ label, figure: String(n), value: n }))));
  if (r.option_tally) {
    const t = r.option_tally;
    if (t.winner !== null && t.winner !== undefined) {
      section.append(el("p", "winner", `Winner: option ${t.winner}, ${t.winner_label}`));
    } else {
      section.append(el("p", "winner", "No winner."));
    }
    if (t.tied && t.tied.length) section.append(el("p", "muted", `Tied for first: ${t.tied.join(", ")}; ${t.tie_rule}.`));
    section.append(tallyTable(t.figures.map((f) => ({
      label: `${f.option}. ${f.label}`, figure: f.figure, value: f.value, winner: f.option === t.winner,
    }))));
  }
}

function tallyTable(rows) {
  const table = el("table", "tally");
  const most = Math.max(0, ...rows.map((row) => Number(row.value) || 0));
  for (const row of rows) {
    const tr = el("tr", row.winner ? "winner" : "");
    const bar = el("div", "bar");
    bar.style.width = `${most > 0 ? Math.round((Number(row.value) / most) * 100) : 0}%`;
    const cell = el("td", "graph");
    cell.append(bar);
    tr.append(el("td", "label", row.label), el("td", "figure", row.figure), cell);
    table.append(tr);
  }
  return table;
}

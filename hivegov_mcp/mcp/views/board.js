"use strict";
// The board: list_proposals' result by status; opening a proposal shows its card (get_proposal
// through the host), "More" fetches the next page with the same filters.
const LIFECYCLE = ["draft", "discussion", "revision", "voting", "approved", "rejected", "executing", "executed",
  "execution_failed", "rolled_back", "withdrawn"];
const Board = { proposals: [], nextCursor: null };

function showBoard(data) {
  if (isProposal(data)) return showProposal(data, drawBoard); // a get_proposal result the host passed on
  if (!Array.isArray(data.proposals)) return false;
  Board.proposals = data.proposals.slice();
  Board.nextCursor = data.next_cursor || null;
  drawBoard();
  return true;
}

function drawBoard() {
  const heading = el("h1", "", "Proposals");
  if (!Board.proposals.length) {
    replaceView(heading, el("p", "muted empty", "No proposals match."));
    return;
  }
  const board = el("div", "board");
  for (const status of LIFECYCLE) {
    const here = Board.proposals.filter((p) => p.status === status);
    if (!here.length) continue;
    const column = el("section", "column");
    column.dataset.status = status;
    column.append(el("h2", "", `${status.replaceAll("_", " ")} (${here.length})`));
    for (const p of here) column.append(boardItem(p));
    board.append(column);
  }
  const actions = el("div", "actions");
  if (Board.nextCursor && Host.canCallTools) {
    const more = el("button", "more", "More");
    more.type = "button";
    more.addEventListener("click", () => loadMore(more));
    actions.append(more);
  }
  replaceView(heading, board, actions);
}

function boardItem(p) {
  const item = el("button", "item");
  item.type = "button";
  item.dataset.id = p.id;
  item.append(el("span", "title", p.title), el("span", "muted", `${p.id} · ${p.type} · ${p.author}`));
  if (p.deadline) item.append(el("span", "muted", `${DEADLINE_WORDS[p.status] || "Deadline"} ${when(p.deadline)}`));
  if (Host.canCallTools) item.addEventListener("click", () => openProposal(p.id, drawBoard));
  else item.disabled = true;
  return item;
}

async function loadMore(button) {
  button.disabled = true;
  try {
    const args = Object.assign({}, Host.input || {}, { cursor: Board.nextCursor });
    const page = await Host.callTool("list_proposals", args);
    Board.proposals.push(...(page.proposals || []));
    Board.nextCursor = page.next_cursor || null;
    drawBoard();
  } catch (error) {
    button.disabled = false;
    button.after(el("p", "error", error.message));
  }
}

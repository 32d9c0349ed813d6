// Live updates: every audit event refreshes the live part of the page (no reload, no input lost).
(function () {
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    const answer = await fetch(location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    if (!answer.ok) return;
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("live");
    if (fresh) { live.innerHTML = fresh.innerHTML; live.dataset.refreshed = String(Number(live.dataset.refreshed || 0) + 1); }
  }
  const scope = live.dataset.proposal ? "?proposal_id=" + encodeURIComponent(live.dataset.proposal) : "";
  const events = new EventSource("/dashboard/events" + scope);
  events.addEventListener("open", function () { document.body.dataset.live = "on"; });
  events.onmessage = function () { if (!pending) pending = setTimeout(refresh, 100); };
})();

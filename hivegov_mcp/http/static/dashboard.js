// Live updates: every audit event refreshes the live part of the page (no reload, no input lost).
(function () {
  // A refused form shows its page again: the address becomes the page's, so a reload or a live
  // refresh reads the page rather than the form's URL.
  const own = document.body.dataset.url;
  if (own && own !== location.pathname && own.startsWith("/")) history.replaceState(null, "", own);
  // Deadlines count down: "in 12 min" beside each.
  function countdown() {
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      const left = Math.round((Date.parse(t.getAttribute("datetime")) - Date.now()) / 60000);
      let note = t.nextElementSibling && t.nextElementSibling.classList.contains("left") ? t.nextElementSibling : null;
      if (!note) { note = document.createElement("span"); note.className = "left muted"; t.after(note); }
      note.textContent = left >= 0 ? " (in " + left + " min)" : " (passed)";
    });
  }
  countdown();
  setInterval(countdown, 30000);
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    const answer = await fetch(location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    if (!answer.ok) return;
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("live");
    if (fresh) { live.innerHTML = fresh.innerHTML; live.dataset.refreshed = String(Number(live.dataset.refreshed || 0) + 1); countdown(); }
  }
  const scope = live.dataset.proposal ? "?proposal_id=" + encodeURIComponent(live.dataset.proposal) : "";
  const events = new EventSource("/dashboard/events" + scope);
  events.addEventListener("open", function () { document.body.dataset.live = "on"; });
  events.onmessage = function () { if (!pending) pending = setTimeout(refresh, 100); };
})();

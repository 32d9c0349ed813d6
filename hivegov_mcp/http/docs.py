"""The API's docs page: self-contained (no asset from the internet), it reads
`/api/openapi.json` and lists every endpoint with its parameters, body and answers, and lets
a person try a call with an agent token (kept in the page's memory only)."""

from __future__ import annotations

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>hivegov-mcp REST API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1d2330}
h1{font-size:1.4rem} code,pre{font:13px ui-monospace,monospace;background:#f3f4f7;border-radius:4px}
pre{padding:.6rem;overflow:auto;max-height:24rem} details{border:1px solid #d8dbe3;border-radius:6px;margin:.4rem 0}
summary{cursor:pointer;padding:.4rem .6rem} .m{display:inline-block;width:4.2rem;font-weight:600}
.get{color:#1a6} .post{color:#14c} .put{color:#a60} .box{padding:0 .8rem .6rem}
input,textarea{font:13px ui-monospace,monospace;width:100%;box-sizing:border-box} button{margin:.3rem 0}
</style></head><body>
<h1>hivegov-mcp REST API</h1>
<p>The OpenAPI 3.1 document is <a href="/api/openapi.json">/api/openapi.json</a>. Every endpoint acts as
the agent of <code>Authorization: Bearer &lt;token&gt;</code>; errors are
<code>{"error": {"code", "message", "hint"}}</code>. Text in results was written by agents: it is data.</p>
<label>Agent token for "Try it" (kept in this page only): <input id="token" type="password" autocomplete="off"></label>
<div id="paths">Loading /api/openapi.json…</div>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
fetch("/api/openapi.json").then(r => r.json()).then(doc => {
  const out = [];
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const params = (op.parameters || []).map(p => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) ${esc(p.description || "")}</li>`).join("");
    const body = op.requestBody ? JSON.stringify(op.requestBody.content["application/json"].schema) : "";
    const id = out.length;
    out.push(`<details><summary><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code> ${esc(op.summary || "")}</summary><div class="box">
      ${params ? `<ul>${params}</ul>` : ""}${body ? `<p>Body: <code>${esc(body)}</code></p>` : ""}
      <p>Answers: ${Object.keys(op.responses).map(esc).join(", ")}</p>
      <input id="u${id}" value="${esc(path)}" aria-label="URL">
      ${op.requestBody ? `<textarea id="b${id}" rows="4" aria-label="JSON body">{}</textarea>` : ""}
      <button data-id="${id}" data-method="${method}">Try it</button><pre id="r${id}" hidden></pre></div></details>`);
  }
  const paths = document.getElementById("paths");
  paths.innerHTML = out.join("");
  paths.addEventListener("click", async e => {
    const b = e.target.closest("button"); if (!b) return;
    const id = b.dataset.id, body = document.getElementById("b" + id), shown = document.getElementById("r" + id);
    const headers = {"Authorization": "Bearer " + document.getElementById("token").value};
    if (body) headers["Content-Type"] = "application/json";
    const r = await fetch(document.getElementById("u" + id).value, {method: b.dataset.method.toUpperCase(), headers, body: body ? body.value : undefined});
    shown.hidden = false; shown.textContent = r.status + " " + r.statusText + "\\n" + await r.text();
  });
});
</script></body></html>
"""

"use strict";
// The view's side of the MCP Apps bridge (SEP-1865, io.modelcontextprotocol/ui): JSON-RPC 2.0
// over postMessage with the host that renders this document. The view holds no token and makes
// no request of its own: its data is the tool result the host passes, and every further call is
// a tools/call the host makes to the server for it (and may ask the user about).
const APPS_PROTOCOL = "2026-01-26";

const Host = {
  nextId: 1,
  pending: new Map(),
  handlers: new Map(),
  capabilities: {},
  context: {},
  shown: false,

  send(message) {
    window.parent.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*");
  },
  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ id, method, params });
    });
  },
  notify(method, params) {
    this.send({ method, params });
  },
  on(method, handler) {
    this.handlers.set(method, handler);
  },
  receive(event) {
    if (event.source !== window.parent) return; // only the host speaks to the view
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) { // a response to one of our requests
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(String(message.error.message || "The host refused.")));
      else waiting.resolve(message.result);
      return;
    }
    const handler = this.handlers.get(message.method);
    let answer = {};
    if (handler) answer = handler(message.params || {});
    if (message.id !== undefined) { // a request: always answered (ping, ui/resource-teardown)
      if (handler || message.method === "ping") this.send({ id: message.id, result: answer || {} });
      else this.send({ id: message.id, error: { code: -32601, message: "Method not found" } });
    }
  },
  get canCallTools() {
    return Boolean(this.capabilities.serverTools);
  },
  // A tool's structured result through the host, or an Error with the text the tool answered.
  async callTool(name, args) {
    const result = await this.request("tools/call", { name, arguments: args });
    if (!result || result.isError) throw new Error(textOf(result) || `${name} failed.`);
    return result.structuredContent || {};
  },
  applyContext(context) {
    Object.assign(this.context, context);
    const root = document.documentElement;
    if (context.theme === "light" || context.theme === "dark") root.dataset.theme = context.theme;
    const variables = (context.styles && context.styles.variables) || {};
    for (const [name, value] of Object.entries(variables)) {
      if (/^--[a-z0-9-]+$/.test(name) && typeof value === "string") root.style.setProperty(name, value);
    }
  },
  reportSize() {
    const { width, height } = document.documentElement.getBoundingClientRect();
    this.notify("ui/notifications/size-changed", { width: Math.ceil(width), height: Math.ceil(height) });
  },
  // Handshake, then wait for the tool's input and result; `show` renders a result's structuredContent
  // and says whether it was one the view shows.
  async start(appName, show) {
    window.addEventListener("message", (event) => this.receive(event));
    this.on("ui/notifications/tool-input", (params) => { this.input = params.arguments || {}; });
    // A host may also pass on the results of the calls the view made: a result the view does not
    // show (show() returns false) leaves what is shown as it is, once something is.
    this.on("ui/notifications/tool-result", (result) => {
      if (result.isError) {
        if (!this.shown) showError(textOf(result) || "The tool failed.");
      } else if (show(result.structuredContent || {})) {
        this.shown = true;
      } else if (!this.shown) {
        showError("This result is not one this view shows.");
      }
    });
    this.on("ui/notifications/tool-cancelled", (params) => {
      showError(`The call was cancelled${params.reason ? `: ${params.reason}` : "."}`);
    });
    this.on("ui/notifications/host-context-changed", (context) => this.applyContext(context));
    this.on("ui/resource-teardown", () => ({}));
    const init = await this.request("ui/initialize", {
      protocolVersion: APPS_PROTOCOL,
      appInfo: { name: appName, version: "1" },
      appCapabilities: { availableDisplayModes: ["inline"] },
    });
    this.capabilities = (init && init.hostCapabilities) || {};
    this.applyContext((init && init.hostContext) || {});
    this.notify("ui/notifications/initialized", {});
    if (typeof ResizeObserver === "function") new ResizeObserver(() => this.reportSize()).observe(document.body);
  },
};

function textOf(result) {
  const content = (result && result.content) || [];
  return content.filter((c) => c && c.type === "text").map((c) => String(c.text)).join("\n");
}

// An element with text content only (agents' text is never parsed as HTML here).
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function replaceView(...nodes) {
  document.getElementById("view").replaceChildren(...nodes);
}

function showError(message) {
  replaceView(el("p", "error", message));
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const options = { dateStyle: "medium", timeStyle: "short", timeZone: Host.context.timeZone || "UTC" };
  try {
    return `${date.toLocaleString(Host.context.locale || undefined, options)} ${options.timeZone}`;
  } catch (_) {
    return date.toISOString();
  }
}

// arc-sandbox dashboard: plain JS, no build step. Views render from the JSON API; a server-sent
// event stream tells the page when something changed, so nothing here polls.
"use strict";

const API = "/_dashboard/api";
const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// --- formatting ------------------------------------------------------------------------------

const pad = (n, w = 2) => String(n).padStart(w, "0");
function clock(epoch) {
  if (epoch === null || epoch === undefined) return "—";
  const d = new Date(epoch * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function dateTime(epoch) {
  if (epoch === null || epoch === undefined) return "—";
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function relative(epoch, now) {
  if (epoch === null || epoch === undefined) return "";
  const s = Math.round(epoch - now);
  const abs = Math.abs(s);
  if (abs < 1) return "just now";
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : abs < 2 * 31557600 ? `${Math.round(abs / 86400)}d` : `${Math.round(abs / 31557600)} years`;
  return s > 0 ? `in ${text}` : `${text} ago`;
}
const ms = (v) => (v === null || v === undefined ? "—" : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
const short = (id) => (id ? id.slice(0, 8) : "");
const pretty = (v) => JSON.stringify(v, null, 2);
const oneLine = (v) => { const t = typeof v === "string" ? v : JSON.stringify(v); return t.length > 120 ? t.slice(0, 119) + "…" : t; };
const pill = (status, text) => h("span", { class: `pill s-${status}` }, text || status.replace("_", " "));

function toast(text, bad = false) {
  const el = $("#toast");
  el.textContent = text;
  el.className = bad ? "toast bad" : "toast";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 3200);
}

async function attempt(action, done) {
  try {
    const result = await action();
    if (done) toast(typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    toast(error.message, true);
    return undefined;
  }
}

// --- drawer ----------------------------------------------------------------------------------

function openDrawer(title, ...content) {
  $("#drawer-title").textContent = title;
  $("#drawer-body").replaceChildren(...content);
  $("#drawer").hidden = false;
}
function closeDrawer() {
  $("#drawer").hidden = true;
  state.openSeq = null;
  document.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
}

// --- state and routing -----------------------------------------------------------------------

const state = { view: "invocations", overviewLoaded: Promise.resolve(null), filters: { function: "", status: "" }, openSeq: null, table: null, tableQuery: {}, format: "plain" };
const views = {};
const refreshers = {};

function route() {
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0]) || "invocations";
  state.view = views[name] ? name : "invocations";
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("active", a.dataset.view === state.view));
  closeDrawer();
  const view = state.view;
  // The page's own clock at the moment a view is on screen: what bench/dashboard.py reports.
  views[view]().then(() => performance.mark(`view-ready:${view}`), (error) => toast(error.message, true));
}

function section(title, ...rest) {
  return h("div", { class: "bar" }, h("h1", {}, title), ...rest);
}

// Refresh a view at most every `wait` ms however many changes arrive: a busy app stays cheap to watch.
function throttled(fn, wait) {
  let timer = null, again = false;
  return () => {
    if (timer) { again = true; return; }
    fn();
    timer = setTimeout(() => { timer = null; if (again) { again = false; fn(); } }, wait);
  };
}

// --- invocations -----------------------------------------------------------------------------

// A row is one call, known by its sequence number: the attempts of an asynchronous invocation (an @events
// delivery, a Lambda Event invoke) share its request id, as on Lambda, and each has its own row.
function invocationRow(inv) {
  const tr = h("tr", { class: "clickable", dataset: { id: inv.request_id, seq: inv.seq }, onclick: () => showInvocation(inv.seq) },
    h("td", { class: "mono muted" }, clock(inv.started_at)),
    h("td", { class: "mono" }, inv.function),
    h("td", {}, h("span", { class: "tag" }, "@" + inv.trigger)),
    h("td", {}, pill(inv.status)),
    h("td", { class: "num" }, ms(inv.duration_ms)),
    h("td", { class: "num muted" }, inv.max_memory_mb ? `${inv.max_memory_mb} / ${inv.memory_mb} MB` : `${inv.memory_mb} MB`),
    h("td", { class: "num muted" }, inv.log_lines || ""),
    h("td", { class: "clip wrap muted" }, inv.error || ""),
    h("td", { class: "mono muted", title: inv.request_id }, short(inv.request_id), inv.attempt > 1 ? [" ", h("span", { class: "tag attempt" }, `attempt ${inv.attempt}`)] : null),
  );
  if (inv.seq === state.openSeq) tr.classList.add("selected");
  return tr;
}

function matches(inv) {
  return (!state.filters.function || inv.function === state.filters.function) && (!state.filters.status || inv.status === state.filters.status);
}

views.invocations = async () => {
  const [data, overview] = await Promise.all([
    api(`/invocations?function=${encodeURIComponent(state.filters.function)}&status=${encodeURIComponent(state.filters.status)}`),
    state.overviewLoaded,
  ]);
  if (state.view !== "invocations") return;
  const functions = [...new Set([...(overview?.functions || []), ...data.functions])].sort();
  const fnSelect = h("select", { id: "filter-function", onchange: (e) => { state.filters.function = e.target.value; views.invocations(); } },
    h("option", { value: "" }, "All functions"), functions.map((f) => h("option", { value: f, selected: f === state.filters.function }, f)));
  const statusSelect = h("select", { id: "filter-status", onchange: (e) => { state.filters.status = e.target.value; views.invocations(); } },
    h("option", { value: "" }, "Any status"), ["ok", "error", "timeout", "crash", "oom", "running"].map((s) => h("option", { value: s, selected: s === state.filters.status }, s)));
  const body = h("tbody", { id: "invocation-rows" }, data.invocations.map(invocationRow));
  const more = h("button", { id: "older", hidden: data.next_before === null, onclick: async () => {
    const next = await api(`/invocations?function=${encodeURIComponent(state.filters.function)}&status=${encodeURIComponent(state.filters.status)}&before=${more.dataset.before}`);
    body.append(...next.invocations.map(invocationRow));
    more.dataset.before = next.next_before ?? "";
    more.hidden = next.next_before === null;
  } }, "Load older");
  more.dataset.before = data.next_before ?? "";
  const table = h("table", {}, h("thead", {}, h("tr", {},
    h("th", {}, "Started"), h("th", {}, "Function"), h("th", {}, "Trigger"), h("th", {}, "Status"), h("th", { class: "num" }, "Duration"),
    h("th", { class: "num" }, "Memory"), h("th", { class: "num" }, "Logs"), h("th", {}, "Error"), h("th", {}, "Request id"))), body);
  $("#view").replaceChildren(
    section("Invocations", h("span", { class: "muted", id: "recorded" }, `${data.recorded.toLocaleString()} recorded`), h("span", { class: "grow" }), fnSelect, statusSelect),
    h("div", { class: "panel" }, data.invocations.length ? h("div", { class: "scroll" }, table) : h("div", { class: "empty", id: "no-invocations" }, "No invocations yet. Open the app and they appear here as they happen."), ),
    h("div", { class: "bar" }, more),
  );
  if (!data.invocations.length) $("#view .panel").append(h("div", { class: "scroll", hidden: true }, table));
};

// Changes are applied once per frame: a busy app's hundreds of calls a second cost one repaint.
const pendingChanges = [];
function queueChange(kind, inv) {
  if (pendingChanges.push([kind, inv]) === 1) requestAnimationFrame(applyChanges);
}
function applyChanges() {
  const changes = pendingChanges.splice(0);
  if (changes.length > 200 && state.view === "invocations") { views.invocations(); return; }
  state.quietRows = changes.length > 20;
  for (const [kind, inv] of changes) onInvocation(kind, inv);
  state.quietRows = false;
}

function onInvocation(kind, inv) {
  if (state.view === "invocations" && matches(inv)) {
    const body = $("#invocation-rows");
    if (body) {
      const existing = body.querySelector(`tr[data-seq="${inv.seq}"]`);
      const row = invocationRow(inv);
      if (existing) existing.replaceWith(row);
      else {
        if (!state.quietRows) row.classList.add("fresh");
        body.prepend(row);
        const empty = $("#no-invocations");
        if (empty) { empty.remove(); $("#view .scroll").hidden = false; }
        while (body.children.length > 500) body.lastElementChild.remove();
      }
    }
  }
  if (kind === "finished" && state.openSeq === inv.seq) showInvocation(inv.seq);
  if (kind === "finished") {
    if (state.view === "queues") refreshers.queues();
    if (state.view === "schedules" && inv.trigger === "scheduled") refreshers.schedules();
    if (state.view === "tables") refreshers.tables();
  }
}

// From another view: the Invocations view, then the call's drawer once the view is on screen.
function openInvocation(key) {
  location.hash = "#/invocations";
  setTimeout(() => showInvocation(key), 50);
}

// `key`: a call's sequence number, or a request id for the newest call that has it.
async function showInvocation(key) {
  const inv = await attempt(() => api(`/invocations/${encodeURIComponent(key)}`));
  if (!inv) return;
  state.openSeq = inv.seq;
  document.querySelectorAll("#invocation-rows tr").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.seq) === inv.seq));
  const attempts = inv.attempts.length > 1 ? [h("dt", {}, "Attempts"), h("dd", { id: "invocation-attempts" }, inv.attempts.flatMap((a) => [
    a.seq === inv.seq ? h("strong", { class: "current" }, `#${a.attempt} `, pill(a.status))
      : h("a", { href: "#", dataset: { seq: a.seq }, onclick: (e) => { e.preventDefault(); showInvocation(a.seq); } }, `#${a.attempt} `, pill(a.status)), " "]))] : [];
  const parts = [
    h("dl", { class: "meta" },
      h("dt", {}, "Status"), h("dd", {}, pill(inv.status)),
      h("dt", {}, "Trigger"), h("dd", {}, h("span", { class: "tag" }, "@" + inv.trigger)),
      h("dt", {}, "Started"), h("dd", { class: "mono" }, dateTime(inv.started_at) + "." + pad(Math.floor((inv.started_at % 1) * 1000), 3)),
      h("dt", {}, "Duration"), h("dd", {}, `${ms(inv.duration_ms)} of ${inv.timeout_s}s timeout${inv.cold ? " · cold start" : ""}`),
      h("dt", {}, "Memory"), h("dd", {}, inv.max_memory_mb ? `${inv.max_memory_mb} MB used of ${inv.memory_mb} MB` : `${inv.memory_mb} MB configured`),
      h("dt", {}, "Request id"), h("dd", { class: "mono", id: "invocation-request-id" }, inv.request_id), ...attempts),
  ];
  if (inv.status !== "ok" && inv.status !== "running") {
    parts.push(h("h3", {}, "Error"), h("pre", { class: "json trace", id: "invocation-error" }, inv.traceback ? inv.traceback.trim() : `${inv.error_type || inv.status}: ${inv.error_message || ""}`));
  } else if (inv.status === "ok") {
    parts.push(h("h3", {}, "Result"), h("pre", { class: "json", id: "invocation-result" }, pretty(inv.result)));
  }
  parts.push(h("h3", {}, `Logs (${inv.logs.length + inv.dropped_logs})`),
    inv.logs.length ? h("pre", { class: "json logs", id: "invocation-logs" }, inv.logs.join("\n") + (inv.dropped_logs ? `\n… ${inv.dropped_logs} more lines not kept` : "")) : h("p", { class: "muted" }, "No log lines."));
  parts.push(h("h3", {}, "Event"), h("pre", { class: "json", id: "invocation-event" }, pretty(inv.event)));
  openDrawer(inv.attempt > 1 ? `${inv.function} · attempt ${inv.attempt}` : inv.function, ...parts);
}

// A chatty handler's log lines refresh the open invocation at most a few times a second.
const refreshOpen = throttled(() => state.openSeq && showInvocation(state.openSeq), 250);

// --- events and queues -----------------------------------------------------------------------

function countChip(label, n, hot) {
  return h("span", { class: `count ${n && hot ? hot : ""}` }, label, h("b", {}, n));
}

// A dead letter's error, payload and a way to the calls that failed it (whose logs say why, when the
// error is only "partial batch failure").
function showDeadLetter(d, fn) {
  openDrawer("Dead letter " + short(d.id),
    h("dl", { class: "meta" }, h("dt", {}, "From"), h("dd", {}, h("span", { class: "tag" }, d.pragma === "lambda" ? "Invoke (Event)" : "@" + d.pragma), " ", d.name),
      h("dt", {}, "Attempts"), h("dd", {}, d.attempts), h("dt", {}, "Failed"), h("dd", {}, dateTime(d.failed_at)),
      d.request_id ? [h("dt", {}, "Request id"), h("dd", { class: "mono" }, h("a", { href: "#/invocations", id: "dead-letter-request", title: "The last attempt", onclick: (e) => { e.preventDefault(); openInvocation(d.request_id); } }, d.request_id))] : null,
      h("dt", {}, "Handler"), h("dd", {}, h("a", { href: "#/invocations", id: "dead-letter-invocations", onclick: (e) => { e.preventDefault(); showInvocationsOf(fn); } }, `${fn}'s invocations and their logs`))),
    h("h3", {}, "Error"), h("pre", { class: "json trace" }, (d.traceback || d.error || "").trim()),
    h("h3", {}, "Payload"), h("pre", { class: "json" }, pretty(d.payload)));
}

function deadLetterTable(letters, now, fn) {
  if (!letters.length) return null;
  return h("div", {},
    h("h3", { style: "margin: 8px 14px" }, "Dead letters"),
    h("table", { class: "dead-letters" }, h("thead", {}, h("tr", {}, h("th", {}, "Failed"), h("th", { class: "num" }, "Attempts"), h("th", {}, "Error"), h("th", {}, "Payload"), h("th", {}, ""))),
      h("tbody", {}, letters.map((d) => h("tr", { dataset: { id: d.id } },
        h("td", { class: "mono muted", title: dateTime(d.failed_at) }, relative(d.failed_at, now)),
        h("td", { class: "num" }, d.attempts),
        h("td", { class: "clip wrap" }, h("a", { href: "#", onclick: (e) => { e.preventDefault(); showDeadLetter(d, fn); } }, d.error || "failed")),
        h("td", { class: "clip mono" }, oneLine(d.payload)),
        h("td", {}, h("button", { class: "small replay", onclick: () => attempt(() => api("/dead-letters/replay", { method: "POST", body: { ids: [d.id] } }), "Replayed").then(refreshers.queues) }, "Replay"), " ",
          h("button", { class: "small danger purge", onclick: () => attempt(() => api("/dead-letters/purge", { method: "POST", body: { ids: [d.id] } }), "Purged").then(refreshers.queues) }, "Purge")))))));
}

function messageTable(messages, now) {
  if (!messages.length) return h("div", { class: "empty" }, "No messages waiting.");
  return h("table", { class: "messages" }, h("thead", {}, h("tr", {}, h("th", {}, "Message"), h("th", {}, "State"), h("th", { class: "num" }, "Receives"), h("th", {}, "Sent"), h("th", {}, "Visible"), h("th", {}, "Body"), h("th", {}, "Attributes"))),
    h("tbody", {}, messages.map((m) => h("tr", { class: "clickable", onclick: () => openDrawer("Message " + short(m.id), h("dl", { class: "meta" }, h("dt", {}, "State"), h("dd", {}, pill(m.state)), h("dt", {}, "Receive count"), h("dd", {}, m.receive_count), h("dt", {}, "Sent"), h("dd", {}, dateTime(m.sent_at)), h("dt", {}, "Visible"), h("dd", {}, `${dateTime(m.visible_at)} (${relative(m.visible_at, now)})`), h("dt", {}, "Group"), h("dd", {}, m.group_id || "—")), h("h3", {}, "Body"), h("pre", { class: "json" }, pretty(m.body)), h("h3", {}, "Attributes"), h("pre", { class: "json" }, pretty(m.attributes))) },
      h("td", { class: "mono" }, short(m.id)), h("td", {}, pill(m.state)), h("td", { class: "num" }, m.receive_count),
      h("td", { class: "mono muted" }, clock(m.sent_at)), h("td", { class: "muted" }, m.state === "pending" ? "now" : relative(m.visible_at, now)),
      h("td", { class: "clip mono" }, oneLine(m.body)), h("td", { class: "clip mono muted" }, Object.keys(m.attributes).length ? oneLine(m.attributes) : "")))));
}

function publishForm(data) {
  const targets = [...data.topics.map((t) => ["events", t.name]), ...data.queues.filter((q) => q.active).map((q) => ["queues", q.name])];
  if (!targets.length) return null;
  const target = h("select", { id: "publish-target" }, targets.map(([p, n]) => h("option", { value: `${p}:${n}` }, `@${p} ${n}`)));
  const payload = h("textarea", { id: "publish-payload", rows: 4, style: "min-height: 80px" }, '{\n  "hello": "world"\n}');
  const attributes = h("input", { type: "text", id: "publish-attributes", placeholder: '{"key": "value"}', style: "width: 220px" });
  const delay = h("input", { type: "number", id: "publish-delay", min: 0, max: 900, value: 0, style: "width: 80px" });
  const send = async () => {
    let body;
    try { body = JSON.parse(payload.value); } catch (e) { toast("The payload is not JSON: " + e.message, true); return; }
    let attrs = {};
    try { attrs = attributes.value.trim() ? JSON.parse(attributes.value) : {}; } catch (e) { toast("The attributes are not JSON", true); return; }
    const [pragma, name] = target.value.split(":");
    await attempt(() => api("/publish", { method: "POST", body: { pragma, name, payload: body, attributes: attrs, delay: Number(delay.value) || 0 } }), (r) => `Sent ${short(r.message_id)}`);
    refreshers.queues();
  };
  return h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, "Publish a test event or message")),
    h("div", { class: "panel-body" }, h("div", { class: "form-row" }, h("label", {}, "To", target), h("label", {}, "Attributes (JSON)", attributes), h("label", {}, "Delay (s, queues)", delay), h("button", { class: "primary", id: "publish-send", onclick: send }, "Send")), h("label", {}, "Payload (JSON)", payload)));
}

views.queues = async () => {
  const data = await api("/queues");
  if (state.view !== "queues") return;
  const now = data.now;
  const cards = [];
  // Lambda async invokes (InvocationType=Event) retry and dead-letter as an @events delivery does: the same card.
  const eventCards = [...data.topics.map((t) => ["@events", "topic", t]), ...(data.invokes || []).map((t) => ["Invoke (Event)", "invoke", t])];
  for (const [tag, key, t] of eventCards) {
    cards.push(h("div", { class: "panel", dataset: { [key]: t.name } },
      h("div", { class: "panel-head" }, h("span", { class: "tag" }, tag), h("h2", {}, t.name), key === "topic" ? h("span", { class: "muted mono" }, "→ " + t.function) : null,
        h("div", { class: "counts" }, countChip("retrying", t.counts.retrying, "warm"), t.next_attempt_at ? h("span", { class: "count" }, "next attempt ", h("b", {}, relative(t.next_attempt_at, now))) : null, countChip("dead letters", t.counts.dead_letters, "hot"))),
      t.retries.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Message"), h("th", {}, "State"), h("th", { class: "num" }, "Next attempt"), h("th", {}, "At"), h("th", {}, "Payload"), h("th", {}, "Attributes"))),
        h("tbody", {}, t.retries.map((r) => h("tr", {}, h("td", { class: "mono" }, short(r.message_id)), h("td", {}, pill("retrying")), h("td", { class: "num" }, `#${r.attempt}`),
          h("td", {}, `${clock(r.next_attempt_at)} (${relative(r.next_attempt_at, now)})`), h("td", { class: "clip mono" }, oneLine(r.payload)),
          h("td", { class: "clip mono muted" }, Object.keys(r.attributes).length ? oneLine(r.attributes) : ""))))) : null,
      deadLetterTable(t.dead_letters, now, t.function),
      !t.retries.length && !t.dead_letters.length ? h("div", { class: "empty" }, "Nothing retrying, no dead letters.") : null));
  }
  for (const q of data.queues) {
    const c = q.counts;
    cards.push(h("div", { class: "panel", dataset: { queue: q.name } },
      h("div", { class: "panel-head" }, h("span", { class: "tag" }, q.fifo ? "@queues fifo" : "@queues"), h("h2", {}, q.name), h("span", { class: "muted mono" }, "→ " + q.function),
        q.active ? null : h("span", { class: "pill s-none" }, "removed from the manifest"),
        h("div", { class: "counts" }, countChip("pending", c.pending), countChip("in flight", c.in_flight), countChip("delayed", c.delayed), countChip("retrying", c.retrying, "warm"),
          q.next_attempt_at ? h("span", { class: "count" }, "next attempt ", h("b", {}, relative(q.next_attempt_at, now))) : null, countChip("dead letters", c.dead_letters, "hot"))),
      messageTable(q.messages, now),
      deadLetterTable(q.dead_letters, now, q.function)));
  }
  const allDead = [...data.topics, ...data.queues, ...(data.invokes || [])].reduce((n, x) => n + x.dead_letters.length, 0);
  $("#view").replaceChildren(
    section("Events & queues", h("span", { class: "muted" }, `a queue message is dead-lettered after ${data.max_receive_count} receives`), h("span", { class: "grow" }),
      allDead ? h("button", { id: "replay-all", onclick: () => attempt(() => api("/dead-letters/replay", { method: "POST", body: { all: true } }), (r) => `Replayed ${r.replayed}`).then(refreshers.queues) }, `Replay all (${allDead})`) : null,
      allDead ? h("button", { class: "danger", id: "purge-all", onclick: () => confirm(`Purge ${allDead} dead letter(s) for good?`) && attempt(() => api("/dead-letters/purge", { method: "POST", body: { all: true } }), (r) => `Purged ${r.purged}`).then(refreshers.queues) }, "Purge all") : null),
    ...(cards.length ? cards : [h("div", { class: "panel" }, h("div", { class: "empty" }, "This app has no @events or @queues."))]),
    publishForm(data) || "");
};
refreshers.queues = throttled(() => state.view === "queues" && views.queues(), 300);

// --- tables ----------------------------------------------------------------------------------

const DYNAMO_TYPES = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);
function cell(value) {
  if (value === null || value === undefined) return "";
  if (state.format === "dynamo" && typeof value === "object") {
    const [type] = Object.keys(value);
    if (Object.keys(value).length === 1 && DYNAMO_TYPES.has(type)) {
      const inner = value[type];
      return [h("span", { class: "tag type" }, type), " ", typeof inner === "object" ? oneLine(inner) : String(inner)];
    }
  }
  if (typeof value === "object") return oneLine(value);
  return String(value);
}

// A TTL attribute reads as the moment it expires; the stored number is in its tooltip.
function ttlCell(value) {
  if (value === null || value === undefined) return h("td", {});
  const epoch = Number(value?.N ?? value);
  if (!Number.isFinite(epoch)) return h("td", { class: "clip" }, cell(value));
  const expired = epoch <= Date.now() / 1000;
  return h("td", { class: "ttl", title: "stored as " + (typeof value === "object" ? JSON.stringify(value) : String(value)) },
    h("span", { class: expired ? "pill s-dead" : "" }, dateTime(epoch)), " ", h("span", { class: "muted" }, expired ? "expired" : relative(epoch, Date.now() / 1000)));
}

function keyOf(item, table) {
  const key = { [table.partition_key]: item[table.partition_key] };
  if (table.sort_key) key[table.sort_key] = item[table.sort_key];
  return key;
}

function itemEditor(table, item) {
  const isNew = !item;
  const area = h("textarea", { id: "item-json", rows: 18, style: "min-height: 320px" }, pretty(item || (state.format === "dynamo" ? { [table.partition_key]: { S: "" } } : { [table.partition_key]: "" })));
  const save = async () => {
    let parsed;
    try { parsed = JSON.parse(area.value); } catch (e) { toast("Not JSON: " + e.message, true); return; }
    const saved = await attempt(() => api(`/tables/${encodeURIComponent(table.name)}/item`, { method: "PUT", body: { item: parsed, format: state.format, replaces: isNew ? null : keyOf(item, table) } }), "Saved");
    if (saved) { closeDrawer(); loadItems(); }
  };
  const remove = async () => {
    if (!confirm("Delete this item?")) return;
    const done = await attempt(() => api(`/tables/${encodeURIComponent(table.name)}/item`, { method: "DELETE", body: { key: keyOf(item, table), format: state.format } }), "Deleted");
    if (done) { closeDrawer(); loadItems(); }
  };
  const ttl = table.ttl_attribute && item ? item[table.ttl_attribute] : null;
  const ttlValue = ttl && typeof ttl === "object" ? Number(ttl.N) : Number(ttl);
  openDrawer(isNew ? `New item in ${table.name}` : `${table.name} item`,
    h("p", { class: "hint" }, state.format === "dynamo" ? "DynamoDB JSON: every value typed, as the wire protocol has it." : "Plain JSON: numbers, strings, booleans, lists and objects. Sets read as lists; edit as DynamoDB JSON to keep them sets."),
    ttl ? h("p", { class: "hint", id: "item-ttl" }, `Expires (TTL ${table.ttl_attribute}): ${dateTime(ttlValue)}`) : null,
    area,
    h("div", { class: "form-row", style: "margin-top: 10px" }, h("button", { class: "primary", id: "item-save", onclick: save }, "Save"), isNew ? null : h("button", { class: "danger", id: "item-delete", onclick: remove }, "Delete")));
}

function fetchItems(start) {
  const q = state.tableQuery;
  const params = new URLSearchParams({ format: state.format, limit: "50" });
  for (const k of ["index", "pk", "sk_op", "sk", "sk2"]) if (q[k]) params.set(k, q[k]);
  if (start) params.set("start", start);
  return attempt(() => api(`/tables/${encodeURIComponent(state.table)}/items?${params}`));
}

async function loadItems(start, fetched) {
  if (!state.table) return;
  const data = await (fetched || fetchItems(start));
  if (!data || state.view !== "tables") return;
  const table = data.table;
  // Keys first, then the TTL attribute (when any item has it), then the rest as they come.
  const columns = [table.partition_key, table.sort_key].filter(Boolean);
  if (table.ttl_attribute && data.items.some((item) => table.ttl_attribute in item)) columns.push(table.ttl_attribute);
  for (const item of data.items) for (const k of Object.keys(item)) if (!columns.includes(k)) columns.push(k);
  const keyCount = table.sort_key ? 2 : 1;
  const rows = data.items.map((item) => h("tr", { class: "clickable", onclick: () => itemEditor(table, item) },
    columns.map((c, i) => c === table.ttl_attribute ? ttlCell(item[c])
      : h("td", { class: (i < keyCount ? "mono" : "") + " clip" }, cell(item[c])))));
  const pages = state.pages || (state.pages = []);
  const result = $("#items");
  result.replaceChildren(
    h("div", { class: "panel-head" }, h("span", { class: "muted", id: "items-count" }, `${data.operation} · ${data.count} item(s) on this page${data.operation === "Query" || data.scanned !== data.count ? `, ${data.scanned} read` : ""}`), h("span", { class: "grow" }),
      pages.length ? h("button", { class: "small", onclick: () => { pages.pop(); loadItems(pages[pages.length - 1]); } }, "← Previous") : null,
      data.next ? h("button", { class: "small", id: "next-page", onclick: () => { pages.push(data.next); loadItems(data.next); } }, "Next page →") : null),
    data.items.length ? h("div", { class: "scroll" }, h("table", { id: "item-table" }, h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c + (c === table.partition_key ? " (pk)" : c === table.sort_key ? " (sk)" : c === table.ttl_attribute ? " (TTL)" : ""))))), h("tbody", {}, rows)))
      : h("div", { class: "empty" }, "No items match."));
}

views.tables = async () => {
  // The table list and the first page of items load side by side: one round trip, not two.
  const overview = await state.overviewLoaded;
  if (!state.table && overview?.tables?.length) state.table = overview.tables[0];
  const guess = state.table;
  const firstPage = guess ? fetchItems(state.pages?.[state.pages.length - 1]) : null;
  const data = await api("/tables");
  if (state.view !== "tables") return;
  if (!data.tables.length) { $("#view").replaceChildren(section("Tables"), h("div", { class: "panel" }, h("div", { class: "empty" }, "This app has no @tables."))); return; }
  if (!state.table || !data.tables.find((t) => t.name === state.table)) { state.table = data.tables[0].name; state.tableQuery = {}; state.pages = []; }
  const table = data.tables.find((t) => t.name === state.table);
  const list = h("div", { class: "panel table-list" }, data.tables.map((t) => h("a", { href: "#/tables", class: t.name === state.table ? "active" : "", dataset: { table: t.name }, onclick: (e) => { e.preventDefault(); state.table = t.name; state.tableQuery = {}; state.pages = []; views.tables(); } },
    h("div", {}, h("strong", {}, t.name), " ", h("span", { class: "muted item-count" }, `${t.item_count.toLocaleString()} items`)),
    h("div", { class: "sub mono" }, `${t.partition_key}${t.sort_key ? " · " + t.sort_key : ""}`),
    t.indexes.length ? h("div", { class: "sub" }, "indexes: " + t.indexes.map((i) => i.name + (i.local ? " (local)" : "")).join(", ")) : null,
    t.ttl_attribute ? h("div", { class: "sub" }, "TTL: " + t.ttl_attribute) : null)));
  const q = state.tableQuery;
  const index = h("select", { id: "q-index" }, h("option", { value: "" }, `table (${table.partition_key}${table.sort_key ? ", " + table.sort_key : ""})`), table.indexes.map((i) => h("option", { value: i.name, selected: q.index === i.name }, `${i.name} (${i.partition_key}${i.sort_key ? ", " + i.sort_key : ""})`)));
  const pk = h("input", { type: "text", id: "q-pk", placeholder: "empty: scan all", style: "width: 200px", value: q.pk || "" });
  const skOp = h("select", { id: "q-sk-op" }, ["", "=", "<", "<=", ">", ">=", "begins_with", "between"].map((o) => h("option", { value: o, selected: q.sk_op === o }, o || "sort key…")));
  const sk = h("input", { type: "text", id: "q-sk", placeholder: "value", value: q.sk || "", style: "width: 140px" });
  const sk2 = h("input", { type: "text", id: "q-sk2", placeholder: "and", value: q.sk2 || "", style: "width: 110px" });
  const run = () => { state.tableQuery = { index: index.value, pk: pk.value, sk_op: skOp.value, sk: sk.value, sk2: sk2.value }; state.pages = []; loadItems(); };
  const fmt = h("div", { class: "segmented" }, ["plain", "dynamo"].map((f) => h("button", { class: f === state.format ? "on" : "", dataset: { format: f }, onclick: () => { state.format = f; views.tables(); } }, f === "plain" ? "Plain JSON" : "DynamoDB JSON")));
  $("#view").replaceChildren(
    section("Tables", h("span", { class: "grow" }), fmt, h("button", { class: "primary", id: "add-item", onclick: () => itemEditor(table, null) }, "Add item")),
    h("div", { class: "split" }, list,
      h("div", {},
        h("div", { class: "panel" }, h("div", { class: "panel-body" }, h("div", { class: "form-row", style: "margin: 0" },
          h("label", {}, "Index", index), h("label", {}, "Partition key", pk), h("label", {}, "Sort key", h("div", { style: "display:flex; gap:6px" }, skOp, sk, sk2)),
          h("button", { class: "primary", id: "q-run", onclick: run }, pk.value ? "Query" : "Scan / Query"),
          h("span", { class: "hint" }, `${table.physical_name}${table.ttl_attribute ? " · TTL on " + table.ttl_attribute : ""}`)))),
        h("div", { class: "panel", id: "items" }, h("div", { class: "empty" }, "Loading…")))));
  pk.addEventListener("keydown", (e) => e.key === "Enter" && run());
  // The sort key fields only where the table (or the chosen index) has a sort key.
  const sortKeyOf = () => (index.value ? table.indexes.find((i) => i.name === index.value)?.sort_key : table.sort_key);
  const showSortKey = () => {
    const name = sortKeyOf();
    for (const el of [skOp, sk, sk2]) el.disabled = !name;
    skOp.options[0].textContent = name ? `${name}…` : "no sort key";
  };
  index.addEventListener("change", showSortKey);
  showSortKey();
  await loadItems(state.pages?.[state.pages.length - 1], state.table === guess ? firstPage : null);
};
refreshers.tables = throttled(async () => {
  if (state.view !== "tables") return;
  const data = await api("/tables").catch(() => null);
  for (const t of data?.tables || []) {
    const el = document.querySelector(`.table-list a[data-table="${CSS.escape(t.name)}"] .item-count`);
    if (el) el.textContent = `${t.item_count.toLocaleString()} items`;
  }
}, 1000);

// --- schedules -------------------------------------------------------------------------------

views.schedules = async () => {
  const data = await api("/schedules");
  if (state.view !== "schedules") return;
  const now = data.now;
  const rows = data.schedules.map((s) => h("tr", { dataset: { schedule: s.name } },
    h("td", {}, h("strong", {}, s.name)), h("td", { class: "mono" }, s.expression + (s.timezone ? ` ${s.timezone}` : "")),
    h("td", {}, s.next_fire_at ? `${dateTime(s.next_fire_at)} ` : "never", s.next_fire_at ? h("span", { class: "muted" }, `(${relative(s.next_fire_at, now)})`) : null),
    h("td", { class: "last" }, s.last ? h("a", { href: "#/invocations", onclick: (e) => { e.preventDefault(); openInvocation(s.last.seq); } }, pill(s.last.status), " ", h("span", { class: "muted" }, `${relative(s.last.started_at, now)} · ${ms(s.last.duration_ms)}`)) : h("span", { class: "muted" }, "not run yet")),
    h("td", {}, h("button", { class: "small run-now", onclick: async () => {
      const r = await attempt(() => api(`/schedules/${encodeURIComponent(s.name)}/run`, { method: "POST", body: {} }));
      if (r) toast(r.ok ? `${s.name} ran` : `${s.name} failed: ${r.error}`, !r.ok);
      views.schedules();
    } }, "Run now"))));
  $("#view").replaceChildren(section("Schedules"),
    h("div", { class: "panel" }, rows.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Expression"), h("th", {}, "Next fire"), h("th", {}, "Last result"), h("th", {}, ""))), h("tbody", {}, rows))
      : h("div", { class: "empty" }, "This app has no @scheduled functions.")));
};
refreshers.schedules = throttled(() => state.view === "schedules" && views.schedules(), 300);

// --- routes ----------------------------------------------------------------------------------

function showInvocationsOf(fn) {
  state.filters = { function: fn, status: "" };
  location.hash = "#/invocations";
}

function copyButton(text) {
  return h("button", { class: "small", title: "Copy " + text, onclick: () => navigator.clipboard.writeText(text).then(() => toast("Copied " + text), () => toast(text)) }, "Copy");
}

views.routes = async () => {
  const data = await api("/routes");
  if (state.view !== "routes") return;
  const rows = data.routes.map((r) => h("tr", { dataset: { kind: r.kind } },
    h("td", {}, h("span", { class: `mono m-${r.method}` }, h("strong", {}, r.method))),
    h("td", { class: "mono" }, r.kind === "http" && (r.method === "GET" || r.method === "ANY") ? h("a", { href: r.url, target: "_blank", rel: "noopener" }, r.path) : r.path),
    h("td", { class: "mono" }, h("a", { href: "#/invocations", title: "Its invocations", onclick: (e) => { e.preventDefault(); showInvocationsOf(r.function); } }, r.function)),
    h("td", { class: "mono muted" }, r.src), h("td", {}, h("span", { class: "tag" }, "@" + r.kind))));
  $("#view").replaceChildren(section("Routes", h("a", { href: data.url, target: "_blank", rel: "noopener", class: "mono" }, data.url),
      data.ws_url ? h("span", { class: "mono muted", id: "ws-url" }, data.ws_url) : null, data.ws_url ? copyButton(data.ws_url) : null),
    h("div", { class: "panel" }, rows.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Method"), h("th", {}, "Path"), h("th", {}, "Function"), h("th", {}, "Source"), h("th", {}, "Kind"))), h("tbody", {}, rows))
      : h("div", { class: "empty" }, "This app has no @http or @ws routes.")));
};

// --- live stream -----------------------------------------------------------------------------

function connect() {
  const live = $("#live");
  const source = new EventSource(API + "/stream");
  source.addEventListener("hello", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("started", (e) => queueChange("started", JSON.parse(e.data)));
  source.addEventListener("finished", (e) => queueChange("finished", JSON.parse(e.data)));
  source.addEventListener("recorded", (e) => { const el = $("#recorded"); if (el) el.textContent = `${JSON.parse(e.data).recorded.toLocaleString()} recorded`; });
  source.addEventListener("log", (e) => { if (JSON.parse(e.data).seq === state.openSeq) refreshOpen(); });
  source.addEventListener("bus", () => refreshers.queues());
  source.addEventListener("resync", () => views[state.view]());
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
}

function showOverview(overview) {
  if (!overview) return overview;
  $("#app-name").textContent = overview.app;
  $("#app-region").textContent = overview.region;
  const link = $("#app-url");
  link.textContent = overview.url;
  link.href = overview.url;
  document.title = `${overview.app} · arc-sandbox`;
  return overview;
}

function start() {
  $("#drawer-close").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (e) => e.key === "Escape" && closeDrawer());
  window.addEventListener("hashchange", route);
  // Everything at once: the header, the live stream and the first view load side by side.
  const inlined = window.SANDBOX_OVERVIEW;  // the page arrives with it; fetched only when served bare
  state.overviewLoaded = inlined ? Promise.resolve(showOverview(inlined)) : api("/overview").then(showOverview).catch(() => null);
  connect();
  route();
}

start();

// aifactory dashboard: reads the /api/v1 views with the tab's token and redraws every few seconds.
// Plain ES2020, no build step, no third-party code. Everything is written with textContent (never HTML).
"use strict";

const body = document.body;
const API = body.dataset.api;
const REFRESH_MS = Number(body.dataset.refreshS || 5) * 1000;
const TOKEN_KEY = "aifactory.token";
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

const fmt = (x, digits = 1) => Number(x).toLocaleString("en", { maximumFractionDigits: digits,
  minimumFractionDigits: digits });
const money = (x) => "$" + Number(x).toLocaleString("en", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const pct = (x) => fmt(100 * x, 1) + " %";
// [0, 1, 2, 3, 8, 9] → "0–3, 8–9": a job's GPU ids as runs of consecutive ids.
function ranges(ids) {
  const runs = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && id === last[1] + 1) last[1] = id; else runs.push([id, id]);
  }
  return runs.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ");
}
const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—");

class HttpError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, { text = false } = {}) {
  const response = await fetch(API + path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch (_) { /* not JSON */ }
    throw new HttpError(response.status, detail);
  }
  return text ? response.text() : response.json();
}

function fillTable(id, rows, emptyText, columns) {
  const tbody = document.querySelector(`#${id} tbody`);
  const width = document.querySelectorAll(`#${id} thead th`).length;
  tbody.replaceChildren();
  if (!rows.length) {
    tbody.append(el("tr", {}, el("td", { colspan: width, class: "empty", text: emptyText })));
    return;
  }
  for (const row of rows) tbody.append(el("tr", { "data-id": row.id ?? null }, ...columns(row)));
}

const td = (text, cls = null) => el("td", { class: cls, text: String(text) });
const jobLink = (job) => el("td", {}, el("a", { href: `/jobs/${job.id}`, text: job.name }), " ",
  el("code", { text: job.id }));

// ------------------------------------------------------------------------------------- overview

function drawSummary(c, q) {
  const stats = [
    ["GPUs", c.gpus_total], ["Busy", c.gpus_busy], ["Free", c.gpus_free], ["Drained", c.gpus_drained],
    ["Spare", c.gpus_spare], ["Running jobs", q.running_total], ["Waiting jobs", q.pending_total],
    ["GPUs asked by waiting", q.gpus_waiting],
  ];
  document.getElementById("summary").replaceChildren(
    ...stats.map(([label, value]) => el("div", {}, el("dt", { text: label }), el("dd", { text: String(value) }))));
}

function drawRacks(c) {
  const head = el("tr", {}, el("td"));
  for (let t = 0; t < c.trays_per_rack; t++) head.append(el("th", { scope: "col", text: `T${t}` }));
  const rows = c.rack_list.map((rack) => {
    const label = `Rack ${rack.rack}` + (rack.drained ? " (drained)" : "");
    const tr = el("tr", {}, el("th", { scope: "row", text: label }));
    for (const tray of rack.trays) {
      const jobs = [...new Set(tray.gpus.map((g) => g.job_id).filter(Boolean))];
      let describe = `rack ${rack.rack} tray ${tray.tray}: ${tray.state}`;
      if (jobs.length) describe += ` (${jobs.join(", ")})`;
      const gpus = el("div", { class: "gpus" });
      for (const g of tray.gpus) {
        gpus.append(el("span", { class: "gpu" + (g.busy ? " held" : ""), title: `GPU ${g.gpu}` +
          (g.job_id ? ` · ${g.job_id} (${g.project_id})` : "") }));
      }
      tr.append(el("td", { class: `tray ${tray.state}`, "data-rack": rack.rack, "data-tray": tray.tray,
        "data-state": tray.state, title: describe, "aria-label": describe }, gpus));
    }
    return tr;
  });
  const table = el("table", {}, el("caption", { class: "visually-hidden",
    text: "Racks (rows) by trays of 4 GPUs (columns)" }), el("thead", {}, head), el("tbody", {}, ...rows));
  document.getElementById("rackmap").replaceChildren(table);
}

function drawQueue(q) {
  const others = [];
  if (q.pending_others) others.push(`${q.pending_others} waiting job(s) of other projects`);
  if (q.running_others) others.push(`${q.running_others} running job(s) of other projects`);
  document.getElementById("queue-note").textContent = others.length ? `Not shown: ${others.join(", ")}.` : "";
  fillTable("queue", q.pending, "No job is waiting.", (j) => [
    td(j.position + 1, "num"), jobLink(j), td(j.project_id), td(j.gpus, "num"), td(j.priority, "num"),
    td(when(j.submitted_at)), td(j.reason || "—", "reason"),
  ]);
  fillTable("running", q.running, "No job is running.", (j) => [
    jobLink(j), td(j.project_id), td(j.gpus, "num"), td(when(j.started_at)), td(ranges(j.gpu_ids)),
  ]);
}

function drawUsage(u) {
  const rows = u.programmes;
  const box = document.getElementById("usage-chart");
  if (!rows.length) { box.replaceChildren(el("p", { class: "note", text: "No programme yet." })); return; }
  const W = 520, left = 110, barH = 14, gap = 12, group = 2 * barH + gap, top = 28;
  const H = top + rows.length * group + 24;
  const scale = (x) => left + x * (W - left - 170);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "chart", role: "img",
    "aria-labelledby": "usage-chart-title usage-chart-desc" });
  chart.append(svg("title", { id: "usage-chart-title" }, "Usage against council shares"));
  // project roles get no total and no fractions of it (they would tell them other programmes' hours)
  const whole = u.gpu_hours_total !== null;
  const used = (p) => (whole ? `used ${pct(p.fraction_of_total)}` : `used ${fmt(p.gpu_hours)} GPU-h`);
  const desc = rows.map((p) => `${p.name}: share ${pct(p.share)}, ${used(p)}`).join("; ");
  chart.append(svg("desc", { id: "usage-chart-desc" }, desc));
  chart.append(svg("rect", { x: left, y: 6, width: 12, height: 10, class: "share" }));
  chart.append(svg("text", { x: left + 16, y: 15 }, "council share"));
  if (whole) {
    chart.append(svg("rect", { x: left + 120, y: 6, width: 12, height: 10, class: "used" }));
    chart.append(svg("text", { x: left + 136, y: 15 }, `share of GPU-hours used (${fmt(u.gpu_hours_total)} GPU-h)`));
  }
  rows.forEach((p, i) => {
    const y = top + i * group;
    chart.append(svg("text", { x: left - 8, y: y + barH + 4, "text-anchor": "end" }, p.name));
    chart.append(svg("rect", { x: left, y, width: Math.max(scale(p.share) - left, 1), height: barH, class: "share" }));
    chart.append(svg("text", { x: scale(p.share) + 4, y: y + barH - 3 }, pct(p.share)));
    if (!whole) {
      chart.append(svg("text", { x: left + 4, y: y + 2 * barH - 3 }, `${fmt(p.gpu_hours)} GPU-h used`));
      return;
    }
    chart.append(svg("rect", { x: left, y: y + barH, width: Math.max(scale(p.fraction_of_total) - left, 1),
      height: barH, class: "used" }));
    chart.append(svg("text", { x: scale(p.fraction_of_total) + 4, y: y + 2 * barH - 3 },
      `${pct(p.fraction_of_total)} · ${fmt(p.gpu_hours)} GPU-h`));
  });
  chart.append(svg("line", { x1: left, x2: left, y1: top - 4, y2: H - 20, stroke: "#5a6675" }));
  box.replaceChildren(chart);
}

function drawBudgets(u) {
  fillTable("budgets", u.projects, "No project.", (p) => {
    const used = p.gpu_hours_granted > 0 ? p.gpu_hours_used / p.gpu_hours_granted : 0;
    const fill = el("span", { class: used > 1 ? "over" : "" });
    fill.style.width = `${Math.min(used, 1) * 100}%`; // CSSOM, allowed by the page's style-src 'self'
    const bar = el("span", { class: "bar", role: "img", "aria-label": `${pct(used)} of the grant used` }, fill);
    return [
      el("th", { scope: "row", title: p.id, text: p.name }),
      td(p.gpu_hours_granted ? fmt(p.gpu_hours_granted) : "none active", "num"),
      td(fmt(p.gpu_hours_used), "num"), td(fmt(p.gpu_hours_remaining), "num"), el("td", {}, bar),
      td(fmt(p.gpu_hours), "num"), td(money(p.cost), "num"),
    ];
  });
}

async function drawMarket() {
  const note = document.getElementById("market-note");
  let offers, bookings;
  try {
    [offers, bookings] = await Promise.all([api("/offers"), api("/reservations")]);
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      note.textContent = "No marketplace yet on this service.";
      fillTable("offers", [], "—", () => []);
      fillTable("bookings", [], "—", () => []);
      return;
    }
    throw err;
  }
  note.textContent = "";
  fillTable("offers", offers, "No offer.", (o) => [
    td(`#${o.id}`), td(o.provider_name ?? o.provider_id), td(o.shape), td(o.kind), td(o.country),
    td(money(o.price_per_gpu_hour), "num"), td(o.units, "num"),
    td(`${when(o.available_from)} → ${o.available_until ? when(o.available_until) : "open"}`),
  ]);
  fillTable("bookings", bookings, "No booking.", (r) => [
    td(`#${r.id}`), td(r.project_id), td(`#${r.offer_id}`), td(r.gpus, "num"), td(when(r.start_at)),
    td(when(r.end_at)), td(r.state), td(r.cost === undefined ? "—" : money(r.cost), "num"),
  ]);
}

async function refreshOverview() {
  const [cluster, queue, usage] = await Promise.all([api("/cluster"), api("/queue"), api("/usage")]);
  drawSummary(cluster, queue);
  drawRacks(cluster);
  drawQueue(queue);
  drawUsage(usage);
  drawBudgets(usage);
  await drawMarket();
}

// ------------------------------------------------------------------------------------------ job

async function refreshJob() {
  const id = body.dataset.jobId;
  const errorBox = document.getElementById("job-error");
  let job;
  try {
    job = await api(`/jobs/${id}`);
  } catch (err) {
    if (err.status === 404) {
      errorBox.textContent = `No job ${id} that this token may see.`;
      document.getElementById("job-details").replaceChildren();
      document.getElementById("job-log").textContent = "";
      return;
    }
    throw err;
  }
  errorBox.textContent = "";
  document.getElementById("job-title").replaceChildren("Job ", el("code", { text: job.id }), ` · ${job.name}`);
  const fields = [
    ["State", job.state + (job.cancel_requested && job.state === "running" ? " (cancel requested)" : "")],
    ["Why", job.reason || "—"], ["Project", job.project_id], ["Submitted by", job.submitted_by],
    ["GPUs", job.gpus + (job.shape ? ` (${job.shape})` : "")], ["Priority", job.priority],
    ["Preemptible", job.preemptible ? "yes (spot)" : "no"], ["Executor", job.executor],
    ["Command", job.command ?? job.image], ["Time limit", `${fmt(job.time_limit_s, 0)} s`],
    ["Submitted", when(job.submitted_at)], ["Started", when(job.started_at)], ["Ended", when(job.ended_at)],
    ["Exit code", job.exit_code ?? "—"], ["Attempt", job.attempt], ["GPU ids", job.gpu_ids ? ranges(job.gpu_ids.split(",").map(Number)) : "—"],
    ["Reservation", job.reservation_id ? `#${job.reservation_id}` : "—"],
  ];
  document.getElementById("job-details").replaceChildren(
    ...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  const log = await api(`/jobs/${id}/logs?tail=500`, { text: true });
  const pre = document.getElementById("job-log");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = log || "(no log yet)";
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

// ---------------------------------------------------------------------------------- sign-in loop

let timer = null;

function showLogin(message = "") {
  clearInterval(timer);
  timer = null;
  document.getElementById("app").hidden = true;
  document.getElementById("identity").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message;
  document.getElementById("status").textContent = "Not signed in";
  document.getElementById("token").focus();
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    await (body.dataset.page === "job" ? refreshJob() : refreshOverview());
    status.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
    body.dataset.loaded = "true";
  } catch (err) {
    if (err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(`Token refused (${err.message}).`);
      return;
    }
    status.textContent = `Update failed: ${err.message}`;
  }
}

async function start() {
  let me;
  try {
    me = await api("/whoami");
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(err.status === 401 ? `Token refused (${err.message}).` : `Cannot reach the service: ${err.message}`);
    return;
  }
  document.getElementById("whoami").textContent =
    `${me.subject} · ${me.role.replace("_", " ")}` + (me.project_id ? ` · project ${me.project_id}` : "");
  document.getElementById("login").hidden = true;
  document.getElementById("identity").hidden = false;
  document.getElementById("app").hidden = false;
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

document.getElementById("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  start();
});

document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  delete body.dataset.loaded;
  showLogin();
});

if (token()) start(); else showLogin();

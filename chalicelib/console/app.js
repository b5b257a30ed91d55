// Leadflow console: a hash-routed single page over the HTTP API. A person signs in with the stage's
// Cognito user pool (session.js: the ID token goes out as Authorization: Bearer); machines and operators
// may paste an API key instead (X-Api-Key). Both live in sessionStorage (this tab only, gone when it
// closes); no cookies are used.
import { barList, breakdownChart, funnelChart, histogram } from "./charts.js";
import { assignmentText, ownerCard, peoplePage } from "./people.js";
import { accountPage, contactPage, peopleLinks, workEntry, workPanel } from "./workspace.js";
import { messagePage, outboxPage, templatesPage } from "./outbox.js";
import { journeyPage, journeysPage } from "./journeys.js";
import { credentials, groups, myLeadsPage, navFor, opportunitiesPage, pipelinePage, scheduleRefresh, signInPage, signOut as endSession, signedIn, who } from "./session.js";

const KEY = "leadflow.apiKey";
const view = document.getElementById("view");
const signOut = document.getElementById("sign-out");

// ------------------------------------------------------------------ DOM and API helpers

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(...nodes) {
  view.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== ""));
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// Each navigation starts a new route; an answer that arrives for an earlier one is dropped, so a slow
// page never draws over the page the operator moved to.
let routed = 0;

async function api(method, path, body) {
  const mine = routed;
  const headers = credentials();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  if (mine !== routed) return new Promise(() => {}); // the operator has moved on: never resolves
  if (response.status === 401) {
    await endSession();
    location.hash = "#/sign-in";
  }
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}

const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "");
// points to one decimal (decay makes 5 clicks worth 24.999986; the API keeps the exact value)
const fmt = (n) => { const t = Number(n).toFixed(1).replace(/\.0$/, ""); return t === "-0" ? "0" : t; };
const grade = (g) => (g ? h("span", { class: `badge ${g}` }, g) : "");
// the score's trend since the previous scoring (Dynamics 365 shows it beside the grade)
const TRENDS = { up: "▲", down: "▼", flat: "▶" };
const trend = (s) => (s.trend ? h("span", { class: `trend ${s.trend}`, title: `${s.trend} since the previous scoring` },
  ` ${TRENDS[s.trend]} from ${s.previous_score}`) : "");
const failure = (error) => h("p", { class: "error", role: "alert" }, error.message);
// what console/people.js draws with
const ui = { h, api, show, failure, when };

// ------------------------------------------------------------------ the API key

// The "paste an API key" form (machines, operators): shown under the sign-in form.
function keyForm() {
  const input = h("input", { type: "password", name: "key", autocomplete: "off", size: 48, required: true });
  return h("form", {
    class: "card", id: "key-form",
    onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      location.hash = "#/leads";
    },
  },
  h("h2", {}, "Or use an API key"),
  h("p", { class: "muted" }, "A key with the sales scope reads leads and reports; admin also edits models and redrives dead letters. It is kept for this tab only."),
  h("label", {}, "API key", input), " ", h("button", { type: "submit" }, "Open the console"));
}

// ------------------------------------------------------------------ leads

let models = null;

async function modelIds() {
  if (models === null) {
    try {
      models = (await api("GET", "/v1/scoring-models")).models.map((m) => m.model_id);
    } catch {
      models = []; // a sales key cannot list models: the filter stays free text
    }
  }
  return models;
}

function select(name, options, value) {
  return h("select", { name }, h("option", { value: "" }, "any"),
    options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

async function leadsPage(params) {
  const ids = await modelIds();
  const form = h("form", { class: "filters", id: "lead-filters" },
    h("label", {}, "State", select("state", ["open", "qualified", "disqualified"], params.state)),
    h("label", {}, "Model", ids.length ? select("model_id", ids, params.model_id)
      : h("input", { name: "model_id", value: params.model_id || "", size: 12 })),
    h("label", {}, "Grade", select("grade", ["A", "B", "C", "D"], params.grade)),
    h("label", {}, "Source", h("input", { name: "source", value: params.source || "", size: 12 })),
    h("label", {}, "Per page", select("limit", ["10", "25", "50", "100"], params.limit || "25")),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    location.hash = `#/leads${query(values)}`;
  });
  show(h("h1", {}, "Leads"), form, h("p", { class: "muted" }, "Loading…"));
  const filters = { ...params };
  if (filters.grade && !filters.model_id) filters.model_id = ids[0];
  let page;
  try {
    page = await api("GET", `/v1/leads${query(filters)}`);
  } catch (error) {
    show(h("h1", {}, "Leads"), form, failure(error));
    return;
  }
  // the API lists newest first (by score when a model filters); a page is shown in that order
  const byScore = Boolean(filters.model_id || filters.grade || filters.min_score);
  const listed = byScore ? page.leads : page.leads.slice().sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
  const rows = listed.map((lead) => h("tr", { "data-lead-id": lead.lead_id },
    h("td", { class: "name" }, h("a", { href: `#/leads/${encodeURIComponent(lead.lead_id)}` }, lead.name || lead.fields?.email || "(no name)"),
      h("div", { class: "muted" }, lead.lead_id)),
    h("td", { class: "company" }, lead.account_id ? h("a", { href: `#/accounts/${encodeURIComponent(lead.account_id)}` }, lead.company || "account") : lead.company || ""),
    h("td", { class: "num score" }, lead.score ?? "–"),
    h("td", { class: "grade" }, lead.grade ? grade(lead.grade) : "–"),
    h("td", {}, lead.topic || ""), h("td", {}, lead.source || ""),
    h("td", {}, `${lead.state} · ${lead.status}`),
    h("td", {}, when(lead.created_at)),
    h("td", { class: "person" }, h("a", { href: `#/contacts/${encodeURIComponent(lead.contact_id)}`, title: "the contact's 360° page" }, "360°"))));
  const back = params.cursor ? h("button", { class: "plain", type: "button", onclick: () => history.back() }, "← Previous") : null;
  const next = page.next_cursor
    ? h("button", { type: "button", onclick: () => { location.hash = `#/leads${query({ ...params, cursor: page.next_cursor })}`; } }, "Next →")
    : null;
  show(h("h1", {}, "Leads"), form,
    h("table", { id: "leads" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Company"), h("th", { class: "num" }, "Score"), h("th", {}, "Grade"),
        h("th", {}, "Topic"), h("th", {}, "Source"), h("th", {}, "State"), h("th", {}, "Created"), h("th", {}, "Contact"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No leads match.")))),
    h("div", { class: "pager" }, back, next));
}

// ------------------------------------------------------------------ one lead

function facts(pairs) {
  const seen = new Set();
  const fresh = ([k]) => !seen.has(k) && seen.add(k);
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").filter(fresh)
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : v)]));
}

function scoreCard(score) {
  const total = score.breakdown.reduce((sum, line) => sum + line.points, 0);
  return h("section", { class: "card score", "data-model-id": score.model_id },
    h("h2", {}, `${score.model_id} v${score.model_version}: `, h("strong", {}, score.score), trend(score), " ", grade(score.grade),
      score.sales_ready ? h("span", { class: "badge A" }, "sales-ready") : ""),
    h("p", { class: "muted" }, `as of ${when(score.as_of)}`),
    breakdownChart(score.breakdown),
    h("table", { class: "breakdown" },
      h("thead", {}, h("tr", {}, h("th", {}, score.breakdown.some((l) => l.kind) ? "Factor" : "Rule"),
        h("th", { class: "num" }, "Points"), h("th", {}, "Interactions"))),
      h("tbody", {}, score.breakdown.map((line) => h("tr", {},
        h("td", {}, line.rule_id, line.kind && line.kind !== "factor" ? h("span", { class: "muted" }, ` (${line.kind})`) : ""),
        h("td", { class: "num" }, fmt(line.points)),
        h("td", { class: "muted" }, (line.interaction_ids || []).join(", "))))),
      h("tfoot", {}, h("tr", { class: "total" }, h("td", {}, "Sum"), h("td", { class: "num" }, fmt(total)), h("td", {})))));
}

function handoffText(entry) {
  return `${entry.handoff_kind || "hand-off"}: ${entry.subject || entry.name || "(no subject)"}` +
    (entry.owner ? ` — owner ${entry.owner}` : "") + (entry.due_at ? ` — due ${when(entry.due_at)}` : "");
}

function handoffsCard(entries) {
  const sent = entries.filter((e) => e.kind === "handoff" || e.kind === "handoff_withheld");
  return h("section", { class: "card", id: "handoffs" }, h("h2", {}, "Hand-offs"), sent.length
    ? h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Kind"), h("th", {}, "Work"), h("th", {}, "Owner"), h("th", {}, "Due"), h("th", {}, "From"))),
      h("tbody", {}, sent.map((e) => h("tr", { "data-handoff-id": e.handoff_id },
        h("td", {}, e.handoff_kind || ""), h("td", {}, (e.subject || e.name || "") + (e.kind === "handoff_withheld" ? " (withheld)" : "")),
        h("td", { class: "owner" }, e.owner || "–"), h("td", {}, when(e.due_at) || ""), h("td", { class: "muted" }, e.origin || "")))))
    : h("p", { class: "muted" }, "No hand-off yet: a qualification rule sends one when the lead qualifies."));
}

function timelineEntry(entry) {
  const what = {
    interaction: () => workEntry(entry) || `${entry.type}`,
    transition: () => `${entry.action}: ${entry.from_state}/${entry.from_status} → ${entry.to_state}/${entry.to_status}` + (entry.reason ? ` (${entry.reason})` : "") + (entry.by ? ` by ${entry.by}` : ""),
    score: () => `${entry.model_id}: ${entry.previous_score ?? "–"} → ${entry.score ?? "–"}` + (entry.grade ? ` (${entry.grade})` : "") + (entry.sales_ready ? ", sales-ready" : ""),
    handoff: () => handoffText(entry),
    handoff_withheld: () => `${handoffText(entry)}: withheld (${entry.reason})`,
    assignment: () => assignmentText(entry),
  }[entry.kind];
  const detail = what ? what() : workEntry(entry) || JSON.stringify(Object.fromEntries(Object.entries(entry).filter(([k]) => !["kind", "at"].includes(k))));
  return h("li", {}, h("span", { class: "muted" }, when(entry.at)), " ", h("strong", {}, entry.kind), " ", detail);
}

function conflictsCard(conflicts) {
  if (!conflicts.length) return null;
  return h("section", { class: "card", id: "conflicts" },
    h("h2", {}, "Submitted values not applied"),
    h("p", { class: "muted" }, "A source that may only fill empty values (public forms, webhooks, LinkedIn, imports by default) said something else; the contact and lead kept what they hold. A withdrawn consent is raised only by an explicit consent change."),
    h("table", {}, h("thead", {}, h("tr", {}, ["Field", "Submitted", "Kept", "Source", "When"].map((c) => h("th", {}, c)))),
      h("tbody", {}, conflicts.slice().reverse().map((c) => h("tr", {}, h("td", {}, c.field), h("td", {}, String(c.submitted)),
        h("td", {}, String(c.current)), h("td", {}, c.source), h("td", {}, when(c.at)))))));
}

async function leadPage(leadId) {
  show(h("p", {}, "Loading…"));
  let lead, timeline;
  try {
    [lead, timeline] = await Promise.all([
      api("GET", `/v1/leads/${encodeURIComponent(leadId)}`),
      api("GET", `/v1/leads/${encodeURIComponent(leadId)}/timeline`),
    ]);
  } catch (error) {
    show(h("h1", {}, leadId), failure(error));
    return;
  }
  const contact = lead.contact || {}, account = lead.account || {};
  const name = [contact.fields?.first_name, contact.fields?.last_name].filter(Boolean).join(" ");
  show(
    h("p", {}, h("a", { href: "#/leads" }, "← Leads")),
    h("h1", { id: "lead-title" }, `${name || contact.email || lead.lead_id}`, " ", h("span", { class: "muted" }, lead.lead_id)),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Lead"), facts([["state", `${lead.state} · ${lead.status}`],
        ["topic", lead.topic], ["source", lead.source], ["created", when(lead.created_at)], ["updated", when(lead.updated_at)],
        ...Object.entries(lead.fields || {}).filter(([k]) => !["topic", "source"].includes(k))])),
      h("section", { class: "card" }, h("h2", {}, "Contact"), facts([["email", contact.email], ["consent", contact.consent],
        ...Object.entries(contact.fields || {}), ["last interaction", when(contact.last_interaction_at)]])),
      h("section", { class: "card" }, h("h2", {}, "Account"), account.account_id
        ? facts([["name", account.name], ["domain", account.domain], ...Object.entries(account.fields || {})])
        : h("p", { class: "muted" }, "No account."))),
    ownerCard(ui, lead, () => leadPage(leadId)),
    peopleLinks(lead), workPanel(lead),
    conflictsCard(lead.conflicts || []),
    h("h2", {}, "Scores"),
    lead.scores.length ? lead.scores.map(scoreCard) : h("p", { class: "muted", id: "no-scores" }, "Not scored by any active model."),
    handoffsCard(timeline.entries),
    h("h2", {}, "Timeline"),
    h("section", { class: "card" }, timeline.entries.length
      ? h("ol", { class: "timeline" }, timeline.entries.map(timelineEntry))
      : h("p", { class: "muted" }, "Nothing yet.")),
  );
}

// ------------------------------------------------------------------ funnel and distributions

async function funnelPage(params) {
  const form = h("form", { class: "filters" },
    h("label", {}, "Created since", h("input", { type: "date", name: "since", value: params.since || "" })),
    h("label", {}, "until", h("input", { type: "date", name: "until", value: params.until || "" })),
    h("label", {}, "Source", h("input", { name: "source", value: params.source || "", size: 12 })),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    if (values.until) values.until = `${values.until}T23:59:59Z`;
    location.hash = `#/funnel${query(values)}`;
  });
  show(h("h1", {}, "Funnel"), form, h("p", {}, "Loading…"));
  let report;
  try {
    report = await api("GET", `/v1/reports/funnel${query(params)}`);
  } catch (error) {
    show(h("h1", {}, "Funnel"), form, failure(error));
    return;
  }
  const reasons = Object.entries(report.disqualified.reasons);
  const ids = await modelIds();
  const distributions = h("div", { class: "grid", id: "distributions" });
  show(h("h1", {}, "Funnel"), form,
    h("section", { class: "card", id: "funnel" }, funnelChart(report.stages),
      h("p", { class: "muted" }, `${report.leads_counted} leads${report.truncated ? " (stopped early: more exist)" : ""}. A lead counts at every stage up to the one its current state shows: a reopened lead counts from its new round, a disqualified one up to marketing-qualified at most.`)),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, `Disqualified: ${report.disqualified.total}`),
        reasons.length ? barList(reasons, "disqualification reasons") : h("p", { class: "muted" }, "None.")),
      h("section", { class: "card" }, h("h2", {}, "Open leads by status"),
        Object.keys(report.open).length ? barList(Object.entries(report.open), "open leads by status") : h("p", { class: "muted" }, "None."))),
    h("h2", {}, "Score distributions"), distributions);
  for (const id of ids) {
    api("GET", `/v1/reports/scores/${encodeURIComponent(id)}`).then((d) => {
      distributions.append(h("section", { class: "card" }, h("h2", {}, `${id}: ${d.scored} scored, ${d.sales_ready} sales-ready`),
        histogram(d.buckets, `${id} score distribution`),
        h("p", {}, Object.entries(d.grades).map(([g, n]) => h("span", {}, grade(g), ` ${n}  `)))));
    }, (error) => distributions.append(failure(error)));
  }
}

// ------------------------------------------------------------------ model editor

/** The model page drawn again (its list and heading from the API), the model in the address, with
 * ``result`` (what the last action answered) kept under the editor. */
async function refreshModels(modelId, result) {
  const hash = `#/models/${encodeURIComponent(modelId)}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);  // no hashchange: no second drawing
  await modelsPage(modelId, result);
}

async function modelsPage(modelId, result) {
  let list;
  try {
    list = (await api("GET", "/v1/scoring-models")).models;
  } catch (error) {
    show(h("h1", {}, "Scoring models"), failure(error));
    return;
  }
  const current = modelId ? await api("GET", `/v1/scoring-models/${encodeURIComponent(modelId)}`).catch(() => null) : null;
  const latest = current?.versions?.[0];
  const id = h("input", { name: "model_id", value: modelId || "", required: true, pattern: "[A-Za-z0-9_.:-]+" });
  const text = h("textarea", { name: "definition", spellcheck: "false" },
    latest ? JSON.stringify(latest.definition, null, 2) : '{\n  "name": "",\n  "rules": [],\n  "grades": [{"grade": "A", "min_score": 80}, {"grade": "D"}],\n  "sales_ready_score": 70\n}');
  const out = h("div", { id: "model-result" }, ...(result || []));
  // what the stored draft holds: "Simulate" saves the editor's text first when it differs (or when the
  // model has no draft yet), so it always simulates what is on screen
  const savedDraft = current?.draft_version && latest?.version === current.draft_version ? JSON.stringify(latest.definition) : null;
  const save = async (target) => {
    const saved = await api("PUT", target, JSON.parse(text.value));
    return [h("p", { class: "ok" }, `Saved draft v${saved.version}.`), saved.warnings?.length ? h("p", {}, `Warnings: ${saved.warnings.join("; ")}`) : ""];
  };
  const run = async (action) => {
    out.replaceChildren(h("p", {}, "Working…"));
    try {
      const target = `/v1/scoring-models/${encodeURIComponent(id.value)}`;
      if (action === "save") {
        const shown = await save(target);
        // the list and heading show the new draft: the page is drawn again from the API
        await refreshModels(id.value, shown);
      } else if (action === "simulate") {
        const unsaved = id.value !== modelId || savedDraft === null || savedDraft !== JSON.stringify(JSON.parse(text.value));
        const shown = unsaved ? await save(target) : [];
        const s = await api("POST", `${target}/simulate`);
        const report = [h("h2", {}, `Draft v${s.draft_version} against ${s.leads_evaluated} leads${s.truncated ? " (first ones)" : ""}`),
          facts([["scored", s.scored], ["sales-ready", s.sales_ready], ["active version", s.active_version ?? "none"],
            ["into sales-ready", s.crossing.into_sales_ready.length], ["out of sales-ready", s.crossing.out_of_sales_ready.length]]),
          Object.keys(s.per_grade).length ? barList(Object.entries(s.per_grade), "per grade") : "",
          s.crossing.into_sales_ready.length ? h("p", {}, "Would become sales-ready: ", s.crossing.into_sales_ready.slice(0, 20).map((l) => h("a", { href: `#/leads/${l}` }, `${l} `))) : ""];
        if (unsaved) await refreshModels(id.value, [...shown, ...report]);
        else out.replaceChildren(...report);
      } else {
        const p = await api("POST", `${target}/publish`);
        out.replaceChildren(h("p", { class: "ok" }, `Published; rescoring job ${p.job_id}.`));
      }
    } catch (error) {
      const fields = error.body?.error?.fields || [];
      out.replaceChildren(failure(error), h("ul", {}, fields.map((f) => h("li", { class: "error" }, `${f.field}: ${f.message}`))));
    }
  };
  show(h("h1", {}, "Scoring models"),
    h("table", {}, h("thead", {}, h("tr", {}, ["Model", "Name", "Active", "Draft", "Latest"].map((c) => h("th", {}, c)))),
      h("tbody", {}, list.map((m) => h("tr", {}, h("td", {}, h("a", { href: `#/models/${encodeURIComponent(m.model_id)}` }, m.model_id)),
        h("td", {}, m.name), h("td", {}, m.active_version ?? "–"), h("td", {}, m.draft_version ?? "–"), h("td", {}, m.latest_version))))),
    h("section", { class: "card" }, h("h2", {}, latest ? `Editing ${modelId} (from v${latest.version}, ${latest.state})` : "New model"),
      h("label", {}, "Model id", id), h("label", {}, "Definition (JSON, see docs/scoring.md)", text),
      h("p", {}, h("button", { type: "button", onclick: () => run("save") }, "Save draft"), " ",
        h("button", { type: "button", class: "plain", onclick: () => run("simulate") }, "Simulate the draft"), " ",
        h("button", { type: "button", class: "plain", onclick: () => run("publish") }, "Publish the draft")),
      out));
}

// ------------------------------------------------------------------ dead letters

async function deadLettersPage() {
  show(h("h1", {}, "Hand-off dead-letter queue"), h("p", {}, "Loading…"));
  let found;
  try {
    found = await api("GET", "/v1/handoffs/dead-letters");
  } catch (error) {
    show(h("h1", {}, "Hand-off dead-letter queue"), failure(error));
    return;
  }
  const result = h("p", { id: "redrive-result" });
  const button = h("button", {
    type: "button", disabled: !found.messages.length,
    onclick: async () => {
      button.disabled = true;
      try {
        const moved = await api("POST", "/v1/handoffs/dead-letters/redrive");
        result.replaceChildren(h("span", { class: "ok" }, `Moved ${moved.moved} hand-offs back to the queue.`));
      } catch (error) {
        result.replaceChildren(failure(error));
      }
    },
  }, "Redrive all");
  show(h("h1", {}, "Hand-off dead-letter queue"),
    h("p", {}, `About ${found.approximate_count} messages. `, button), result,
    h("table", {}, h("thead", {}, h("tr", {}, ["Hand-off", "Type", "Lead", "Subject", "Time", "Receives"].map((c) => h("th", {}, c)))),
      h("tbody", {}, found.messages.length ? found.messages.map((m) => h("tr", {}, h("td", {}, m.handoff_id || m.message_id), h("td", {}, m.type),
        h("td", {}, m.lead_id ? h("a", { href: `#/leads/${encodeURIComponent(m.lead_id)}` }, m.lead_id) : ""), h("td", {}, m.subject || ""),
        h("td", {}, when(m.time)), h("td", { class: "num" }, m.receive_count)))
        : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Empty: every hand-off was delivered.")))));
}

// ------------------------------------------------------------------ quarantine

async function quarantinePage(params) {
  const form = h("form", { class: "filters", id: "quarantine-filters" },
    h("label", {}, "State", select("state", ["held", "released"], params.state)),
    h("label", {}, "Reason", select("reason", ["honeypot", "captcha_failed", "too_fast", "fill_time_invalid", "no_browser_origin"], params.reason)),
    h("label", {}, "Form", h("input", { name: "form_id", value: params.form_id || "", size: 12 })),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/quarantine${query(Object.fromEntries(new FormData(form)))}`;
  });
  show(h("h1", {}, "Quarantine"), form, h("p", {}, "Loading…"));
  let page;
  try {
    page = await api("GET", `/v1/quarantine${query(params)}`);
  } catch (error) {
    show(h("h1", {}, "Quarantine"), form, failure(error));
    return;
  }
  const rows = page.quarantined.map((q) => h("tr", { "data-quarantine-id": q.quarantine_id },
    h("td", {}, h("a", { href: `#/quarantine/${encodeURIComponent(q.quarantine_id)}` }, when(q.received_at))),
    h("td", {}, q.form_id), h("td", {}, q.email || ""), h("td", {}, q.signals.join(", ")),
    h("td", {}, q.lead_id ? h("a", { href: `#/leads/${encodeURIComponent(q.lead_id)}` }, "released") : q.state)));
  const next = page.next_cursor
    ? h("button", { type: "button", onclick: () => { location.hash = `#/quarantine${query({ ...params, cursor: page.next_cursor })}`; } }, "Next →")
    : null;
  show(h("h1", {}, "Quarantine"), form,
    h("p", { class: "muted" }, "Submissions set aside as suspected spam (a filled honeypot, a rejected CAPTCHA, or two weak signals such as too fast and not from a page). Kept 30 days. Release one to capture it as if it had been accepted."),
    h("table", { id: "quarantine" },
      h("thead", {}, h("tr", {}, ["Received", "Form", "Email", "Signals", "State"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing in quarantine.")))),
    h("div", { class: "pager" }, next));
}

async function quarantinedPage(id) {
  show(h("p", {}, "Loading…"));
  let item;
  try {
    item = await api("GET", `/v1/quarantine/${encodeURIComponent(id)}`);
  } catch (error) {
    show(h("h1", {}, id), failure(error));
    return;
  }
  const result = h("div", { id: "release-result" });
  const button = h("button", {
    type: "button", id: "release", disabled: item.state === "released",
    onclick: async () => {
      button.disabled = true;
      try {
        const done = await api("POST", `/v1/quarantine/${encodeURIComponent(id)}/release`, {});
        result.replaceChildren(h("p", { class: "ok" }, "Released: ",
          h("a", { href: `#/leads/${encodeURIComponent(done.lead_id)}` }, `lead ${done.lead_id}`),
          done.lead_created ? " (new)" : " (an existing lead, updated)"));
      } catch (error) {
        const fields = error.body?.error?.fields || [];
        result.replaceChildren(failure(error), h("ul", {}, fields.map((f) => h("li", { class: "error" }, `${f.field}: ${f.message}`))));
        button.disabled = false;
      }
    },
  }, "Release: capture it as a lead");
  show(h("p", {}, h("a", { href: "#/quarantine" }, "← Quarantine")),
    h("h1", {}, "Quarantined submission ", h("span", { class: "muted" }, id)),
    h("section", { class: "card" }, facts([["form", item.form_id], ["received", when(item.received_at)],
      ["reason", item.reason], ["signals", item.signals.join(", ")], ["state", item.state],
      ["released", when(item.released_at)], ["lead", item.lead_id]])),
    h("h2", {}, "What was submitted"),
    h("section", { class: "card", id: "quarantine-payload" }, facts(Object.entries(item.payload))),
    h("p", {}, button), result);
}

// ------------------------------------------------------------------ routing

function route() {
  routed += 1;
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const params = Object.fromEntries(new URLSearchParams(search));
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  signOut.hidden = !signedIn();
  signOut.textContent = `Sign out ${who()}`.trim();
  const shown = navFor(groups());
  document.querySelectorAll("nav a").forEach((a) => {
    a.classList.toggle("on", a.getAttribute("href") === `#/${parts[0]}`);
    a.hidden = !signedIn() || (shown !== null && !shown.has(a.getAttribute("href").slice(2)));
  });
  if (!signedIn() || parts[0] === "sign-in" || parts[0] === "key") return signInPage(ui, keyForm());
  if (parts[0] === "mine") return myLeadsPage(ui, params);
  if (parts[0] === "pipeline") return pipelinePage(ui);
  if (parts[0] === "opportunities") return opportunitiesPage(ui, params);
  if (parts[0] === "leads" && parts[1]) return leadPage(parts[1]);
  if (parts[0] === "contacts" && parts[1]) return contactPage(parts[1]);
  if (parts[0] === "accounts" && parts[1]) return accountPage(parts[1]);
  if (parts[0] === "funnel") return funnelPage(params);
  if (parts[0] === "models") return modelsPage(parts[1]);
  if (parts[0] === "dead-letters") return deadLettersPage();
  if (parts[0] === "people") return peoplePage(ui);
  if (parts[0] === "quarantine" && parts[1]) return quarantinedPage(parts[1]);
  if (parts[0] === "quarantine") return quarantinePage(params);
  if (parts[0] === "outbox" && parts[1]) return messagePage({ h, api, show, when, query }, parts[1]);
  if (parts[0] === "outbox") return outboxPage({ h, api, show, when, query }, params);
  if (parts[0] === "templates") return templatesPage({ h, api, show, when, query }, parts[1]);
  if (parts[0] === "journeys" && parts[1]) return journeyPage({ h, api, show, when, query }, parts[1]);
  if (parts[0] === "journeys") return journeysPage({ h, api, show, when, query });
  if (!parts.length || parts[0] === "leads") return leadsPage(params);
  return notFoundPage(path);
}

// a route the console does not have (a mistyped or old link): said, not silently the leads
function notFoundPage(path) {
  show(h("h1", { id: "not-found" }, "Page not found"),
    h("p", {}, "The console has no page at ", h("code", {}, `#${path}`), "."),
    h("p", {}, h("a", { href: "#/leads" }, "Go to the leads")));
}

signOut.addEventListener("click", async () => {
  await endSession();
  location.hash = "#/sign-in";
});
scheduleRefresh(); // a reload keeps the tab's session: refresh its token before it expires
window.addEventListener("hashchange", () => Promise.resolve().then(route).catch((error) => show(failure(error))));
Promise.resolve().then(route).catch((error) => show(failure(error)));
// the workspace's pages (workspace.js) draw with the same helpers
export { KEY, api, facts, failure, grade, h, scoreCard, show, when };

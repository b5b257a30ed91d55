// Leadflow console: working a lead (lifecycle buttons, notes, activities, edits on the version read,
// linking to another person) and the contact (360°) and account pages. app.js routes to these and
// draws the lead page; the helpers come from there.
import { facts, failure, grade, h, scoreCard, show, api, when } from "./app.js";
import { credentials, signOut } from "./session.js";

// ------------------------------------------------------------------ requests that need headers

// The API's answer with its status and ETag (api() in app.js gives the body only).
async function send(method, path, body, headers = {}) {
  const sent = { ...credentials(), ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers: sent, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  if (response.status === 401) {
    await signOut();
    location.hash = "#/sign-in";
  }
  return { ok: response.ok, status: response.status, body: answer, etag: response.headers.get("ETag") };
}

// "field: message" for each field a 4xx names, else its message.
function problem(answer) {
  const error = answer.body?.error;
  if (!error) return `HTTP ${answer.status}`;
  const fields = (error.fields || []).map((f) => `${f.field}: ${f.message}`);
  return fields.length > 1 ? fields.join("; ") : error.message;
}

const refresh = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
const enc = encodeURIComponent;
const personName = (c) => [c?.fields?.first_name, c?.fields?.last_name].filter(Boolean).join(" ") || c?.email || c?.contact_id || "";

function say(box, text, ok = false) {
  box.replaceChildren(h("p", { class: ok ? "ok" : "error", role: ok ? "status" : "alert" }, text));
}

// ------------------------------------------------------------------ the lead page's work panel

const REASONS = ["lost", "cannot_contact", "no_longer_interested", "canceled", "spam"];

function lifecycleButtons(lead, box) {
  const act = async (action, body) => {
    const answer = await send("POST", `/v1/leads/${enc(lead.lead_id)}/${action}`, body, { "Idempotency-Key": newKey() });
    if (answer.ok) refresh();
    else say(box, problem(answer));
  };
  const open = lead.state === "open";
  const reason = h("select", { name: "reason", "aria-label": "Disqualify reason" }, REASONS.map((r) => h("option", { value: r }, r.replaceAll("_", " "))));
  const button = (label, id, onclick, shown) => (shown ? h("button", { type: "button", id, onclick }, label) : null);
  return h("div", { class: "actions", id: "lifecycle" },
    button("Accept", "act-accept", () => act("accept", {}), open && lead.status !== "sales_accepted"),
    button("Contacted", "act-contacted", () => act("contacted", {}), open && ["new", "marketing_qualified"].includes(lead.status)),
    button("Qualify", "act-qualify", () => act("qualify", {}), open),
    open ? h("span", { class: "inline" }, reason, button("Disqualify", "act-disqualify", () => act("disqualify", { reason: reason.value }), true)) : null,
    button("Reopen", "act-reopen", () => act("reopen", {}), !open));
}

function noteForm(lead, box) {
  const text = h("textarea", { name: "text", class: "short", maxlength: 4000, required: true, "aria-label": "Note" });
  let key = newKey(); // one attempt: a double click sends the same key, the API answers once
  return h("form", {
    id: "note-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const answer = await send("POST", `/v1/leads/${enc(lead.lead_id)}/notes`, { text: text.value }, { "Idempotency-Key": key });
      if (!answer.ok) return say(box, problem(answer));
      key = newKey();
      refresh();
    },
  }, h("label", {}, "Add a note", text), h("button", { type: "submit" }, "Add note"));
}

function activityForm(lead, box) {
  const type = h("select", { name: "type" }, ["call", "meeting", "email"].map((t) => h("option", { value: t }, t)));
  const subject = h("input", { name: "subject", maxlength: 200, size: 30, required: true });
  const outcome = h("input", { name: "outcome", maxlength: 2000, size: 30 });
  const at = h("input", { name: "occurred_at", type: "datetime-local" });
  let key = newKey();
  return h("form", {
    id: "activity-form", class: "filters",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { type: type.value, subject: subject.value };
      if (outcome.value.trim()) body.outcome = outcome.value;
      if (at.value) body.occurred_at = new Date(at.value).toISOString();
      const answer = await send("POST", `/v1/leads/${enc(lead.lead_id)}/activities`, body, { "Idempotency-Key": key });
      if (!answer.ok) return say(box, problem(answer));
      key = newKey();
      refresh();
    },
  }, h("label", {}, "Activity", type), h("label", {}, "Subject", subject), h("label", {}, "Outcome", outcome),
  h("label", {}, "When (default now)", at), h("button", { type: "submit" }, "Log activity"));
}

// A value as typed, back to what the API stores: numbers stay numbers, true/false booleans, "" clears.
function typed(text, before) {
  const t = text.trim();
  if (t === "") return null;
  if (typeof before === "number" && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (typeof before === "boolean" && /^(true|false)$/.test(t)) return t === "true";
  if (/^-?\d+(\.\d+)?$/.test(t) && before === undefined) return Number(t);
  return t;
}

const FIXED = { lead: ["source", "form_id"], contact: ["email"] };

// The editor reads the lead again and keeps its ETag: the save names that version (If-Match), so an
// edit made meanwhile by someone else is never overwritten (412: the rep is told and reloads).
async function openEditor(lead, box, slot) {
  const read = await send("GET", `/v1/leads/${enc(lead.lead_id)}`);
  if (!read.ok) return say(box, problem(read));
  const version = (read.etag || "").replace(/^W\//, "").replaceAll('"', "");
  const current = read.body;
  const rows = [];
  const row = (entity, name, value) => {
    const input = h("input", { name: `${entity}.${name}`, value: value ?? "", size: 28 });
    rows.push({ entity, name, input, before: value });
    return h("label", {}, `${entity}.${name}`, input);
  };
  const fieldsOf = (entity, values) => Object.entries(values || {}).filter(([k]) => !FIXED[entity].includes(k))
    .map(([k, v]) => row(entity, k, typeof v === "object" ? JSON.stringify(v) : v));
  const newEntity = h("select", { name: "new-entity" }, h("option", { value: "lead" }, "lead"), h("option", { value: "contact" }, "contact"));
  const newName = h("input", { name: "new-name", size: 14, placeholder: "e.g. budget" });
  const newValue = h("input", { name: "new-value", size: 18 });
  const form = h("form", {
    id: "edit-form", class: "card",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = {};
      for (const r of rows) {
        const value = typed(r.input.value, r.before);
        if (String(value ?? "") !== String(r.before ?? "")) (body[r.entity] ||= {})[r.name] = value;
      }
      if (newName.value.trim()) (body[newEntity.value] ||= {})[newName.value.trim()] = typed(newValue.value, undefined);
      if (!Object.keys(body).length) return say(box, "Nothing changed.");
      const saved = await send("PATCH", `/v1/leads/${enc(lead.lead_id)}`, body, { "If-Match": read.etag || '"0"' });
      if (saved.status === 412) {
        const now = saved.body?.error?.current_version;
        box.replaceChildren(h("p", { class: "error", role: "alert", id: "stale-version" },
          `Someone changed this lead after you opened the editor (it is at version ${now}; you edited version ${version}). `,
          "Your changes were not saved. ", h("button", { type: "button", class: "plain", onclick: refresh }, "Reload the lead")));
        return;
      }
      if (!saved.ok) return say(box, problem(saved));
      refresh();
    },
  },
  h("h3", {}, `Edit fields (version ${version})`),
  h("p", { class: "muted" }, "Your word overwrites what a form or import said; an emptied field is cleared. The e-mail, source and lifecycle are not edited here."),
  h("div", { class: "edit-grid" }, fieldsOf("lead", current.fields), fieldsOf("contact", current.contact?.fields)),
  h("div", { class: "filters" }, h("label", {}, "New field of", newEntity), h("label", {}, "Name", newName), h("label", {}, "Value", newValue)),
  h("button", { type: "submit" }, "Save changes"), " ",
  h("button", { type: "button", class: "plain", onclick: () => slot.replaceChildren() }, "Cancel"));
  slot.replaceChildren(form);
}

function linkForm(lead, box) {
  const contactId = h("input", { name: "contact_id", size: 30, placeholder: "c_..." });
  const email = h("input", { name: "email", type: "email", size: 26 });
  const first = h("input", { name: "first_name", size: 12 });
  const last = h("input", { name: "last_name", size: 12 });
  let key = newKey();
  return h("form", {
    id: "link-form", class: "filters",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = contactId.value.trim() ? { contact_id: contactId.value.trim() }
        : { new_contact: Object.fromEntries([["email", email.value], ["first_name", first.value], ["last_name", last.value]].filter(([, v]) => v.trim())) };
      const answer = await send("POST", `/v1/leads/${enc(lead.lead_id)}/link`, body, { "Idempotency-Key": key });
      if (!answer.ok) return say(box, problem(answer));
      key = newKey();
      refresh();
    },
  }, h("label", {}, "Move to contact id", contactId), h("span", { class: "muted" }, "or a new person:"),
  h("label", {}, "E-mail", email), h("label", {}, "First name", first), h("label", {}, "Last name", last),
  h("button", { type: "submit", class: "plain" }, "Link"));
}

export function workPanel(lead) {
  const box = h("div", { id: "work-result", "aria-live": "polite" });
  const editor = h("div", { id: "editor" });
  return h("section", { class: "card", id: "work" },
    h("h2", {}, "Work this lead"),
    lifecycleButtons(lead, box), box,
    h("div", { class: "grid" }, noteForm(lead, box), activityForm(lead, box)),
    h("p", {}, h("button", { type: "button", class: "plain", id: "edit-fields", onclick: () => openEditor(lead, box, editor) }, "Edit fields")),
    editor,
    h("details", {}, h("summary", {}, "This inquiry is really from someone else: link the lead"), linkForm(lead, box)));
}

// The timeline's words for what working a lead adds (notes, edits, links, a rep's activities).
export function workEntry(entry) {
  if (entry.kind === "note") return h("span", { class: "note" }, `“${entry.text}” — ${entry.by}`);
  if (entry.kind === "edit") {
    const changes = Object.entries(entry.changes || {}).map(([k, v]) => `${k}: ${v.from ?? "–"} → ${v.to ?? "–"}`);
    return `${changes.join("; ")} by ${entry.by}`;
  }
  if (entry.kind === "link") return h("span", {}, "moved from ", h("a", { href: `#/contacts/${enc(entry.from_contact_id || "")}` }, entry.from_contact_id || "–"),
    " to ", h("a", { href: `#/contacts/${enc(entry.to_contact_id)}` }, entry.to_contact_id), entry.new_contact ? " (new contact)" : "", ` by ${entry.by}`);
  if (entry.kind === "interaction" && entry.activity) return `${entry.activity}: ${entry.subject}` + (entry.outcome ? ` — ${entry.outcome}` : "") + (entry.by ? ` by ${entry.by}` : "");
  return null;
}

// Links from a lead to its person and company pages.
export function peopleLinks(lead) {
  return h("p", { class: "links" },
    h("a", { href: `#/contacts/${enc(lead.contact_id)}`, id: "contact-link" }, "Contact page (360°)"),
    lead.account_id ? [" · ", h("a", { href: `#/accounts/${enc(lead.account_id)}`, id: "account-link" }, "Account page")] : null);
}

// ------------------------------------------------------------------ the contact page (360°)

function leadsTable(leads, id) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, ["Lead", "State", "Owner", "Score", "Opportunities", "Hand-offs", "Created"].map((c) => h("th", {}, c)))),
    h("tbody", {}, leads.length ? leads.map((l) => h("tr", { "data-lead-id": l.lead_id },
      h("td", {}, h("a", { href: `#/leads/${enc(l.lead_id)}` }, l.topic || l.lead_id), h("div", { class: "muted" }, l.lead_id)),
      h("td", {}, `${l.state} · ${l.status}`), h("td", {}, l.owner || "–"),
      h("td", {}, l.scores.length ? l.scores.map((s) => h("span", {}, `${s.model_id}: ${s.score} `, grade(s.grade), " ")) : "–"),
      h("td", {}, l.opportunities.map((o) => `${o.name} (${o.stage}, ${o.status})`).join("; ") || "–"),
      h("td", {}, String(l.handoffs.length)), h("td", {}, when(l.created_at))))
      : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No leads."))));
}

function interactionRow(i) {
  const p = i.properties || {};
  const what = p.activity ? `${p.activity}: ${p.subject || ""}${p.outcome ? ` — ${p.outcome}` : ""}` : (p.url || p.campaign || p.form_id || "");
  return h("tr", { "data-interaction-id": i.interaction_id }, h("td", {}, when(i.occurred_at)), h("td", {}, i.type), h("td", {}, what),
    h("td", {}, i.lead_id ? h("a", { href: `#/leads/${enc(i.lead_id)}` }, i.lead_id) : "–"), h("td", { class: "muted" }, i.source));
}

export async function contactPage(contactId) {
  show(h("p", {}, "Loading…"));
  let view;
  try {
    view = await api("GET", `/v1/contacts/${enc(contactId)}/overview?limit=25`);
  } catch (error) {
    show(h("h1", {}, contactId), failure(error));
    return;
  }
  const c = view.contact, account = view.account;
  const body = h("tbody", {}, view.interactions.length ? view.interactions.map(interactionRow)
    : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No interactions of this person yet.")));
  const more = h("div", { class: "pager" });
  const pager = (cursor) => more.replaceChildren(cursor ? h("button", {
    type: "button", id: "more-interactions",
    onclick: async () => {
      const next = await api("GET", `/v1/contacts/${enc(contactId)}/overview?limit=25&cursor=${enc(cursor)}`);
      body.append(...next.interactions.map(interactionRow));
      pager(next.next_cursor);
    },
  }, "Older interactions →") : "");
  pager(view.next_cursor);
  const notes = view.leads.flatMap((l) => l.notes.map((n) => ({ ...n, lead: l })));
  show(
    h("p", {}, h("a", { href: "#/leads" }, "← Leads")),
    h("h1", { id: "contact-title" }, personName(c), " ", h("span", { class: "muted" }, c.contact_id)),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Contact"), facts([["email", c.email], ["consent", c.consent],
        ["sales contact", c.marketing_only ? "no (marketing only)" : "yes"], ...Object.entries(c.fields || {}),
        ["last interaction", when(c.last_interaction_at)], ["created", when(c.created_at)]])),
      h("section", { class: "card" }, h("h2", {}, "Account"), account
        ? [facts([["name", account.name], ["domain", account.domain], ...Object.entries(account.fields || {})]),
          h("p", {}, h("a", { href: `#/accounts/${enc(account.account_id)}`, id: "account-link" }, "Account page"))]
        : h("p", { class: "muted" }, "No account.")),
      h("section", { class: "card", id: "consent" }, h("h2", {}, "Consent changes"), view.consent_changes.length
        ? h("ol", { class: "timeline" }, view.consent_changes.map((x) => h("li", {}, h("span", { class: "muted" }, when(x.at)), " ", h("strong", {}, x.level), ` (${x.source})`)))
        : h("p", { class: "muted" }, "No consent given or changed."))),
    h("h2", {}, `Leads (${view.leads_total})`), leadsTable(view.leads, "contact-leads"),
    h("h2", {}, "Scores"),
    view.leads.some((l) => l.scores.length)
      ? view.leads.flatMap((l) => l.scores.map((s) => h("div", {}, h("p", { class: "muted" }, `Lead ${l.topic || l.lead_id}`), scoreCard(s))))
      : h("p", { class: "muted" }, "Not scored by any active model."),
    h("h2", {}, "Notes"),
    h("section", { class: "card", id: "contact-notes" }, notes.length
      ? h("ol", { class: "timeline" }, notes.map((n) => h("li", {}, h("span", { class: "muted" }, when(n.at)), " ", `“${n.text}” — ${n.by} `,
        h("a", { href: `#/leads/${enc(n.lead.lead_id)}` }, n.lead.topic || n.lead.lead_id))))
      : h("p", { class: "muted" }, "No notes yet.")),
    h("h2", {}, "Hand-offs"),
    h("section", { class: "card", id: "contact-handoffs" }, view.leads.some((l) => l.handoffs.length)
      ? h("ul", {}, view.leads.flatMap((l) => l.handoffs.map((e) => h("li", {}, `${when(e.at)} ${e.handoff_kind || "hand-off"}: ${e.subject || e.name || ""}` + (e.owner ? ` — owner ${e.owner}` : "") + (e.kind === "handoff_withheld" ? " (withheld)" : "")))))
      : h("p", { class: "muted" }, "No hand-off yet.")),
    h("h2", {}, "Interactions (newest first)"),
    h("p", { class: "muted" }, "What this person did. A lead moved here from someone else keeps that person's interactions on their page and on the lead's timeline."),
    h("table", { id: "interactions" }, h("thead", {}, h("tr", {}, ["When", "Type", "What", "Lead", "Source"].map((x) => h("th", {}, x)))), body),
    more,
  );
}

// ------------------------------------------------------------------ the account page

export async function accountPage(accountId) {
  show(h("p", {}, "Loading…"));
  let view;
  try {
    view = await api("GET", `/v1/accounts/${enc(accountId)}`);
  } catch (error) {
    show(h("h1", {}, accountId), failure(error));
    return;
  }
  const scored = view.leads.flatMap((l) => l.scores.map((s) => ({ ...s, lead: l })));
  show(
    h("p", {}, h("a", { href: "#/leads" }, "← Leads")),
    h("h1", { id: "account-title" }, view.name || view.domain || view.account_id, " ", h("span", { class: "muted" }, view.account_id)),
    h("section", { class: "card" }, facts([["name", view.name], ["domain", view.domain], ...Object.entries(view.fields || {}), ["created", when(view.created_at)]])),
    h("h2", {}, `Contacts (${view.contacts.length})`),
    h("table", { id: "account-contacts" }, h("thead", {}, h("tr", {}, ["Name", "E-mail", "Title", "Leads", "Last interaction"].map((x) => h("th", {}, x)))),
      h("tbody", {}, view.contacts.map((c) => h("tr", { "data-contact-id": c.contact_id },
        h("td", {}, h("a", { href: `#/contacts/${enc(c.contact_id)}` }, personName(c))), h("td", {}, c.email || ""),
        h("td", {}, c.fields?.job_title || ""), h("td", {}, String(view.leads.filter((l) => l.contact_id === c.contact_id).length)),
        h("td", {}, when(c.last_interaction_at)))))),
    h("h2", {}, `Leads (${view.leads_total})`), leadsTable(view.leads, "account-leads"),
    h("h2", {}, "Account-scoped scores"),
    scored.length ? scored.map((s) => h("div", {}, h("p", { class: "muted" }, `Lead ${s.lead.topic || s.lead.lead_id}`), scoreCard(s)))
      : h("p", { class: "muted", id: "no-account-scores" }, view.account_models.length
        ? "No lead of this account is scored yet by the account-scoped models."
        : "No active model scores accounts as a whole (a model with \"scope\": \"account\")."),
  );
}

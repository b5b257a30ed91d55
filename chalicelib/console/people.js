// Leadflow console: people and routing (issue 17). Admin pages for users, teams and assignment rules
// (#/people), and the owner card of the lead page with its reassign control. app.js passes its helpers
// in (`ui`: h, api, show, failure, when), so this module shares the page's DOM and API conventions.

const ROLES = ["admin", "marketing", "sales_manager", "sales_rep"];

function fieldErrors(ui, error) {
  const fields = error.body?.error?.fields || [];
  return [ui.failure(error), ui.h("ul", {}, fields.map((f) => ui.h("li", { class: "error" }, `${f.field}: ${f.message}`)))];
}

function saved(ui, text) {
  return ui.h("span", { class: "ok" }, text);
}

// ------------------------------------------------------------------ users

function userForm(ui, reload) {
  const { h } = ui;
  const result = h("div", { id: "user-result" });
  const form = h("form", { class: "filters", id: "user-form" },
    h("label", {}, "User id", h("input", { name: "user_id", required: true, size: 10, pattern: "[A-Za-z0-9_-]{1,64}" })),
    h("label", {}, "Name", h("input", { name: "name", required: true, size: 14 })),
    h("label", {}, "E-mail", h("input", { name: "email", type: "email", required: true, size: 20 })),
    h("label", {}, "Role", h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === "sales_rep" }, r)))),
    h("label", {}, "Teams (comma-separated)", h("input", { name: "teams", size: 14 })),
    h("label", {}, "Capacity", h("input", { name: "capacity", type: "number", min: 0, value: 10, size: 5 })),
    h("label", {}, "Available", h("select", { name: "available" }, h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "away"))),
    h("button", { type: "submit" }, "Save user"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = {
      name: v.name, email: v.email, roles: [v.role], capacity: Number(v.capacity || 0), available: v.available === "true",
      teams: String(v.teams || "").split(",").map((t) => t.trim()).filter(Boolean),
    };
    try {
      await ui.api("PUT", `/v1/users/${encodeURIComponent(v.user_id)}`, body);
      result.replaceChildren(saved(ui, `Saved ${v.user_id}.`));
      reload();
    } catch (error) {
      result.replaceChildren(...fieldErrors(ui, error));
    }
  });
  return [form, result];
}

function usersTable(ui, users) {
  const { h } = ui;
  return h("table", { id: "users" },
    h("thead", {}, h("tr", {}, ["User", "Name", "E-mail", "Roles", "Teams", "Capacity", "Available"].map((c) => h("th", {}, c)))),
    h("tbody", {}, users.length ? users.map((u) => h("tr", { "data-user-id": u.user_id },
      h("td", {}, u.user_id), h("td", {}, u.name), h("td", {}, u.email), h("td", {}, u.roles.join(", ")),
      h("td", {}, u.teams.join(", ")), h("td", { class: "num" }, u.capacity), h("td", {}, u.available ? "yes" : "away")))
      : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No users yet."))));
}

// ------------------------------------------------------------------ teams

function teamForm(ui, reload) {
  const { h } = ui;
  const result = h("div", { id: "team-result" });
  const form = h("form", { class: "filters", id: "team-form" },
    h("label", {}, "Team id", h("input", { name: "team_id", required: true, size: 10, pattern: "[A-Za-z0-9_-]{1,64}" })),
    h("label", {}, "Name", h("input", { name: "name", required: true, size: 14 })),
    h("label", {}, "Distribution", h("select", { name: "distribution" },
      h("option", { value: "round_robin" }, "round robin"), h("option", { value: "load_balanced" }, "load-balanced"))),
    h("label", {}, "Manager (user id)", h("input", { name: "manager", size: 10 })),
    h("button", { type: "submit" }, "Save team"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    try {
      await ui.api("PUT", `/v1/teams/${encodeURIComponent(v.team_id)}`,
        { name: v.name, distribution: v.distribution, manager: v.manager || null });
      result.replaceChildren(saved(ui, `Saved ${v.team_id}.`));
      reload();
    } catch (error) {
      result.replaceChildren(...fieldErrors(ui, error));
    }
  });
  return [form, result];
}

function teamsTable(ui, teams) {
  const { h } = ui;
  return h("table", { id: "teams" },
    h("thead", {}, h("tr", {}, ["Team", "Name", "Distribution", "Manager", "Members"].map((c) => h("th", {}, c)))),
    h("tbody", {}, teams.length ? teams.map((t) => h("tr", { "data-team-id": t.team_id },
      h("td", {}, t.team_id), h("td", {}, t.name), h("td", {}, t.distribution.replace("_", " ")),
      h("td", {}, t.manager || ""), h("td", {}, (t.members || []).join(", "))))
      : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No teams yet."))));
}

// ------------------------------------------------------------------ assignment rules

function target(assign) {
  if (assign.user) return `user ${assign.user}`;
  if (assign.team) return `team ${assign.team}`;
  if (assign.account_owner) return `account owner, else ${target(assign.otherwise || {})}`;
  return JSON.stringify(assign);
}

function ruleForm(ui, reload) {
  const { h } = ui;
  const result = h("div", { id: "rule-result" });
  const form = h("form", { class: "filters", id: "rule-form" },
    h("label", {}, "Rule id", h("input", { name: "rule_id", required: true, size: 10, pattern: "[A-Za-z0-9_-]{1,64}" })),
    h("label", {}, "Priority", h("input", { name: "priority", type: "number", min: 0, value: 100, size: 5 })),
    h("label", {}, "When (a condition as JSON; empty: every lead)", h("input", { name: "when", size: 40,
      placeholder: '{"field": "contact.country", "op": "in", "value": ["GB"]}' })),
    h("label", {}, "Assign to", h("select", { name: "kind" }, h("option", { value: "team" }, "team"),
      h("option", { value: "user" }, "user"), h("option", { value: "account_owner" }, "account owner, else team"))),
    h("label", {}, "User or team id", h("input", { name: "target", required: true, size: 10 })),
    h("label", {}, "SLA minutes", h("input", { name: "minutes", type: "number", min: 1, size: 5 })),
    h("label", {}, "On lapse", h("select", { name: "on_lapse" }, h("option", { value: "reassign" }, "reassign"),
      h("option", { value: "escalate" }, "escalate"))),
    h("button", { type: "submit" }, "Save rule"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { priority: Number(v.priority || 0) };
    try {
      if (v.when) body.when = JSON.parse(v.when);
    } catch {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, "When is not JSON."));
      return;
    }
    body.assign = v.kind === "account_owner" ? { account_owner: true, otherwise: { team: v.target } } : { [v.kind]: v.target };
    if (v.minutes) body.sla = { accept_within_minutes: Number(v.minutes), on_lapse: v.on_lapse };
    try {
      await ui.api("PUT", `/v1/assignment-rules/${encodeURIComponent(v.rule_id)}`, body);
      result.replaceChildren(saved(ui, `Saved ${v.rule_id}.`));
      reload();
    } catch (error) {
      result.replaceChildren(...fieldErrors(ui, error));
    }
  });
  return [form, result];
}

function rulesTable(ui, rules, reload) {
  const { h } = ui;
  const remove = (rule) => h("button", { type: "button", class: "plain", onclick: async () => {
    if (!confirm(`Delete assignment rule ${rule.rule_id}?`)) return;
    await ui.api("DELETE", `/v1/assignment-rules/${encodeURIComponent(rule.rule_id)}`).catch(() => null);
    reload();
  } }, "Delete");
  return h("table", { id: "assignment-rules" },
    h("thead", {}, h("tr", {}, ["Priority", "Rule", "When", "Assign to", "SLA", ""].map((c) => h("th", {}, c)))),
    h("tbody", {}, rules.length ? rules.map((r) => h("tr", { "data-rule-id": r.rule_id },
      h("td", { class: "num" }, r.priority), h("td", {}, r.rule_id),
      h("td", {}, r.when ? h("code", {}, JSON.stringify(r.when)) : h("span", { class: "muted" }, "every lead (default)")),
      h("td", {}, target(r.assign || {})),
      h("td", {}, r.sla ? `${r.sla.accept_within_minutes} min, then ${r.sla.on_lapse || "reassign"}` : ""),
      h("td", {}, remove(r))))
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No rules: qualified leads stay unassigned."))));
}

// ------------------------------------------------------------------ the page

export async function peoplePage(ui) {
  const { h, show } = ui;
  const reload = () => peoplePage(ui);
  let users, teams, rules;
  try {
    [users, teams, rules] = await Promise.all([
      ui.api("GET", "/v1/users"), ui.api("GET", "/v1/teams"), ui.api("GET", "/v1/assignment-rules"),
    ]);
  } catch (error) {
    show(h("h1", {}, "People and routing"), ui.failure(error));
    return;
  }
  show(h("h1", {}, "People and routing"),
    h("h2", {}, "Assignment rules"),
    h("p", { class: "muted" }, "Tried in priority order when a lead becomes marketing-qualified; the first that matches and can take the lead assigns it. A rule without a condition is the default."),
    rulesTable(ui, rules.rules, reload), ...ruleForm(ui, reload),
    h("h2", {}, "Teams"), teamsTable(ui, teams.teams), ...teamForm(ui, reload),
    h("h2", {}, "Users"), usersTable(ui, users.users), ...userForm(ui, reload));
}

// ------------------------------------------------------------------ the lead page's owner card

export function assignmentText(entry) {
  return `${entry.from || "nobody"} → ${entry.to}` + (entry.team ? ` (${entry.team})` : "") + (entry.why ? `: ${entry.why}` : "") + (entry.by ? ` by ${entry.by}` : "");
}

export function ownerCard(ui, lead, reload) {
  const { h } = ui;
  const result = h("div", { id: "assign-result" });
  const input = h("input", { name: "owner", required: true, size: 12, list: "known-users", placeholder: "user id" });
  const known = h("datalist", { id: "known-users" });
  // admins see the users to choose from; a rep's key types the id (GET /v1/users is admin only)
  ui.api("GET", "/v1/users").then((found) => known.replaceChildren(...found.users.filter((u) => u.available)
    .map((u) => h("option", { value: u.user_id }, `${u.name} (${u.teams.join(", ")})`)))).catch(() => null);
  const reason = h("input", { name: "reason", size: 20, placeholder: "why (on the timeline)" });
  const form = h("form", { class: "filters", id: "assign-form" },
    h("label", {}, "Reassign to", input, known), h("label", {}, "Reason", reason), h("button", { type: "submit" }, "Reassign"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { owner: input.value.trim() };
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      await ui.api("POST", `/v1/leads/${encodeURIComponent(lead.lead_id)}/assign`, body);
      reload();
    } catch (error) {
      result.replaceChildren(...fieldErrors(ui, error));
    }
  });
  return h("section", { class: "card", id: "owner" }, h("h2", {}, "Owner"),
    h("dl", { class: "facts" }, h("dt", {}, "owner"), h("dd", { id: "lead-owner" }, lead.owner || "unassigned"),
      h("dt", {}, "team"), h("dd", { id: "lead-team" }, lead.team || "")),
    lead.state === "open" ? form : h("p", { class: "muted" }, "Closed leads are not reassigned."), result);
}

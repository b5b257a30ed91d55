// Journeys (issue 18): each journey with its funnel (entered, at each step, e-mails sent, opened,
// clicked, exits by reason, qualified), a journey's definition drawn as its steps (where each goes),
// and the buttons that move it draft -> live -> paused -> stopped. The app passes its helpers in.

const STATE_CLASS = { live: "ok", paused: "warn", stopped: "muted", draft: "muted" };

const OP_WORDS = { eq: "is", ne: "is not", in: "is one of", not_in: "is none of", contains: "contains",
  not_contains: "does not contain", starts_with: "starts with", ends_with: "ends with", matches: "matches",
  gt: ">", gte: "≥", lt: "<", lte: "≤", exists: "is set", missing: "is not set" };

function valueText(value) {
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  return typeof value === "string" ? `“${value}”` : String(value);
}

function comparison(subject, c) {
  const op = OP_WORDS[c.op] || c.op || "is";
  return c.op === "exists" || c.op === "missing" ? `${subject} ${op}` : `${subject} ${op} ${valueText(c.value)}`;
}

function plural(n, word) {
  return `${n} ${word}${Number(n) === 1 ? "" : "s"}`;
}

// a condition of the scoring language (docs/scoring.md), in words: fields, events, score/grade/
// sales-ready leaves and all/any/not, nested in parentheses
export function conditionText(c) {
  if (c === null || typeof c !== "object") return String(c);
  if (Array.isArray(c.all)) return c.all.map((x) => `(${conditionText(x)})`).join(" and ") || "always";
  if (Array.isArray(c.any)) return c.any.map((x) => `(${conditionText(x)})`).join(" or ") || "never";
  if (c.not !== undefined) return `not (${conditionText(c.not)})`;
  if (c.field !== undefined) return comparison(c.field, c);
  if (c.score !== undefined) return comparison(`score of “${c.score}”`, c);
  if (c.grade !== undefined) return comparison(`grade of “${c.grade}”`, c);
  if (c.sales_ready !== undefined) return `sales-ready in “${c.sales_ready}”`;
  if (c.event !== undefined) {
    const what = c.event === "*" ? "any interaction" : c.event.replaceAll("_", " ");
    const count = c.max_count === 0 ? "no" : c.min_count > 1 ? `at least ${c.min_count}×` : c.max_count !== undefined ? `at most ${c.max_count}×` : "";
    const where = c.where ? ` where ${conditionText(c.where)}` : "";
    const within = c.within_days !== undefined ? ` in the last ${plural(c.within_days, "day")}` : "";
    return `${count ? `${count} ` : ""}${what}${where}${within}`;
  }
  return JSON.stringify(c);
}

function stepText(step) {
  switch (step.type) {
    case "email": return `send e-mail “${step.template_id}”`;
    case "wait": {
      const unit = ["minutes", "hours", "days"].find((u) => step[u] !== undefined);
      if (unit) return `wait ${plural(step[unit], unit.slice(0, -1))}`;
      if (step.until) return `wait until ${step.until}`;
      return `wait until ${step.time_of_day} (${step.time_zone || "the contact's time zone"})`;
    }
    case "branch": {
      if (step.condition) return `if ${conditionText(step.condition)}`;
      const [kind, value] = Object.entries(step.engagement || {})[0] || ["?", ""];
      const what = { opened: "opened the e-mail", clicked: value === true ? "clicked a link" : `clicked “${value}”`,
        visited: `visited a page with “${value}”`, form: `submitted form “${value}”` }[kind] || kind;
      return `if they ${what} within ${plural(step.within_hours, "hour")}`;
    }
    case "split": return `A/B split: ${step.percent}% to a`;
    case "update_field": return `set ${step.field} = ${JSON.stringify(step.value)}`;
    case "create_lead": return `create a lead${step.topic ? ` (${step.topic})` : ""}`;
    case "sales_work": return `hand to sales: ${step.action?.type || "task"}${step.action?.subject ? ` “${step.action.subject}”` : ""}`;
    case "exit": return "exit";
    default: return step.type;
  }
}

function triggerText(trigger) {
  if (trigger.form_id) return `form “${trigger.form_id}” submitted`;
  if (trigger.grade) return `a lead reaches grade ${valueText(trigger.value)} in “${trigger.grade}”`;
  return conditionText(trigger);
}

// where each step goes: next (default: the following step), yes/no, a/b
function exitsOf(step, following) {
  if (step.type === "exit") return [];
  if (step.type === "branch") return [["yes", step.yes || following], ["no", step.no || following]];
  if (step.type === "split") return [["a", step.a || following], ["b", step.b || following]];
  return [["next", step.next || following]];
}

function funnelRows(h, report) {
  return report.steps.map((s) => h("tr", { "data-step": s.step },
    h("td", {}, s.step), h("td", {}, s.type || "(earlier version)"),
    ...["entered", "at_step", "sent", "refused", "opened", "clicked"].map((k) => h("td", { class: "num" }, s[k]))));
}

function funnelTable(h, report) {
  return h("table", { class: "journey-funnel" },
    h("thead", {}, h("tr", {}, ["Step", "Type", "Entered", "At step", "Sent", "Refused", "Opened", "Clicked"].map((t) => h("th", {}, t)))),
    h("tbody", {}, funnelRows(h, report)));
}

function totals(h, report) {
  const exits = Object.entries(report.exited || {}).map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`).join(", ") || "none";
  return h("dl", { class: "facts journey-totals" },
    [["Entered", report.entered], ["In the journey", report.active], ["E-mails sent", report.sent],
      ["Opened", report.opened], ["Clicked", report.clicked], ["Qualified", report.qualified], ["Exited", exits]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export async function journeysPage(ui) {
  const { h, api, show, when } = ui;
  const list = await api("GET", "/v1/journeys");
  const rows = list.items.map((j) => h("tr", { "data-journey": j.journey_id },
    h("td", {}, h("a", { href: `#/journeys/${encodeURIComponent(j.journey_id)}` }, j.name || j.journey_id),
      " ", h("code", { class: "muted journey-id" }, j.journey_id)),
    h("td", {}, h("span", { class: `status ${STATE_CLASS[j.state] || ""}` }, j.state)),
    h("td", { class: "num" }, `v${j.version}`),
    ...["entered", "active", "sent", "opened", "clicked", "qualified"].map((k) => h("td", { class: "num" }, j.report[k])),
    h("td", {}, when(j.updated_at))));
  show(h("h1", {}, "Journeys"),
    h("p", { class: "muted" }, "Each journey's funnel, kept by the engine as people move (no scan). Open one to see its steps."),
    list.items.length
      ? h("table", { id: "journeys" },
        h("thead", {}, h("tr", {}, ["Journey", "State", "Version", "Entered", "In", "Sent", "Opened", "Clicked", "Qualified", "Changed"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))
      : h("p", { id: "journeys-empty" }, "No journey yet: PUT /v1/journeys/{id} (see the README)."));
}

export async function journeyPage(ui, journeyId) {
  const { h, api, show } = ui;
  const path = `/v1/journeys/${encodeURIComponent(journeyId)}`;
  const [journey, report] = await Promise.all([api("GET", path), api("GET", `${path}/report`)]);
  const steps = journey.definition?.steps || [];
  const counts = Object.fromEntries(report.steps.map((s) => [s.step, s]));
  const result = h("p", { id: "journey-result", role: "status" });
  const move = (action) => async () => {
    try {
      const moved = await api("POST", `${path}/${action}`, {});
      result.textContent = `The journey is ${moved.state}.`;
      location.hash = `#/journeys/${encodeURIComponent(journeyId)}?t=${Date.now()}`;
    } catch (error) {
      result.textContent = error.message;
    }
  };
  const can = { activate: ["draft", "paused"], pause: ["live"], stop: ["draft", "live", "paused"] };
  const buttons = Object.entries(can).map(([action, from]) => h("button",
    { type: "button", id: `journey-${action}`, disabled: !from.includes(journey.state), onclick: move(action) },
    action[0].toUpperCase() + action.slice(1)));
  const list = h("ol", { id: "journey-steps" }, steps.map((step, i) => {
    const following = steps[i + 1]?.id || null;
    const c = counts[step.id] || { entered: 0, at_step: 0 };
    return h("li", { "data-step": step.id },
      h("strong", {}, step.id), ` — ${stepText(step)}`,
      h("span", { class: "muted" }, ` (entered ${c.entered}, here now ${c.at_step})`),
      h("ul", {}, exitsOf(step, following).map(([label, target]) =>
        h("li", { class: "muted" }, `${label} → ${target || "end of the journey"}`))));
  }));
  const entry = journey.entry.segment_id ? `people in segment “${journey.entry.segment_id}” (now and as they match)`
    : journey.entry.trigger ? `trigger: ${triggerText(journey.entry.trigger)}` : "enrolled through the API";
  show(h("p", {}, h("a", { href: "#/journeys" }, "← Journeys")),
    h("h1", {}, journey.name, " ", h("code", { class: "muted journey-id" }, journey.journey_id)),
    h("p", {}, h("span", { id: "journey-state", class: `status ${STATE_CLASS[journey.state] || ""}` }, journey.state),
      ` version ${journey.version}; entry: ${entry}`),
    h("div", { class: "actions" }, buttons), result,
    totals(h, report),
    h("h2", {}, "Steps"), list,
    h("h2", {}, "Funnel"), funnelTable(h, report));
}

// Leadflow console: signing people in with the stage's Cognito user pool, and the pages a signed-in
// person works from (My leads, the pipeline, opportunities). app.js routes to these; they draw with the
// helpers it passes (ui: h, api, show, failure, when).
//
// Sign-in goes straight to Cognito's API from this page (InitiateAuth with USER_PASSWORD_AUTH; the app
// client has no secret), at the endpoint GET /v1/console/config names: Cognito on AWS, moto's server on
// the local stack (it answers CORS preflights). The page's Content-Security-Policy lets it reach that
// endpoint and nothing else. The ID token goes out as Authorization: Bearer; it is refreshed
// (REFRESH_TOKEN_AUTH) two minutes before it expires.
//
// Tokens live in sessionStorage, not localStorage: they stay in this tab and go when it closes, so a
// shared or forgotten browser does not keep a person signed in, and another tab or a later visitor
// cannot pick them up. (Any script on the origin can read either; the CSP allows only the console's.)

const SESSION = "leadflow.session";
const KEY = "leadflow.apiKey";
const REFRESH_BEFORE_MS = 2 * 60 * 1000;
let refreshTimer = null;
let config = null;

// ------------------------------------------------------------------ the session

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION) || "null");
  } catch {
    return null;
  }
}

// What a request carries: the signed-in person's ID token, else the pasted API key.
export function credentials() {
  const mine = session();
  if (mine?.idToken) return { Authorization: `Bearer ${mine.idToken}` };
  return { "X-Api-Key": sessionStorage.getItem(KEY) || "" };
}

export function signedIn() {
  return Boolean(session()?.idToken || sessionStorage.getItem(KEY));
}

// The signed-in person's groups (read from the ID token to draw the nav; the API checks the signature).
export function groups() {
  const token = session()?.idToken;
  if (!token) return sessionStorage.getItem(KEY) ? ["key"] : [];
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload["cognito:groups"] || [];
  } catch {
    return [];
  }
}

export function who() {
  return session()?.email || (sessionStorage.getItem(KEY) ? "API key" : "");
}

export async function signOut() {
  const mine = session();
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(SESSION);
  sessionStorage.removeItem(KEY);
  if (mine?.refreshToken) {
    // revoke the refresh token, so a copy of it is worth nothing (best effort: signed out here anyway)
    const found = await consoleConfig().catch(() => null);
    if (found) await cognito(found, "RevokeToken", { Token: mine.refreshToken, ClientId: found.client_id }).catch(() => null);
  }
}

async function consoleConfig() {
  if (config === null) {
    const response = await fetch("/v1/console/config", { credentials: "omit" });
    if (!response.ok) throw new Error(`the sign-in settings could not be read (HTTP ${response.status})`);
    config = await response.json();
  }
  return config;
}

async function cognito(found, action, body) {
  const response = await fetch(found.endpoint, {
    method: "POST", credentials: "omit",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = (answer.__type || "").split("#").pop();
    const text = kind === "NotAuthorizedException" || kind === "UserNotFoundException"
      ? "Wrong e-mail or password." : answer.message || answer.Message || `Cognito answered HTTP ${response.status}`;
    throw new Error(text);
  }
  return answer;
}

function keep(result, email, refreshToken) {
  const mine = {
    email,
    idToken: result.IdToken,
    refreshToken: result.RefreshToken || refreshToken,
    expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(mine));
  sessionStorage.removeItem(KEY);
  scheduleRefresh();
}

// Refresh the ID token before it expires (REFRESH_TOKEN_AUTH); a failed refresh signs out.
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const mine = session();
  if (!mine?.refreshToken) return;
  const wait = Math.max(0, mine.expiresAt - Date.now() - REFRESH_BEFORE_MS);
  refreshTimer = setTimeout(() => refreshNow().catch(() => { signOut(); location.hash = "#/sign-in"; }), wait);
}

export async function refreshNow() {
  const mine = session();
  const found = await consoleConfig();
  const answer = await cognito(found, "InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: found.client_id, AuthParameters: { REFRESH_TOKEN: mine.refreshToken },
  });
  keep(answer.AuthenticationResult, mine.email, mine.refreshToken);
}

// ------------------------------------------------------------------ the sign-in page

export async function signInPage(ui, keyForm) {
  const { h, show } = ui;
  const result = h("div", { id: "sign-in-result" });
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, size: 32 });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, size: 32 });
  let found;
  try {
    found = await consoleConfig();
  } catch (error) {
    found = { sign_in: false, error };
  }
  const form = h("form", { class: "card", id: "sign-in-form" },
    h("p", {}, h("label", {}, "E-mail ", email)), h("p", {}, h("label", {}, "Password ", password)),
    h("button", { type: "submit" }, "Sign in"), result);
  const signedInAs = (authenticated, who) => {
    keep(authenticated, who);
    location.hash = groups().some((g) => g === "sales_rep" || g === "sales_manager") ? "#/mine" : "#/leads";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren(h("p", { class: "muted" }, "Signing in…"));
    try {
      const who = email.value.trim().toLowerCase();
      const answer = await cognito(found, "InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH", ClientId: found.client_id,
        AuthParameters: { USERNAME: email.value.trim(), PASSWORD: password.value },
      });
      if (answer.AuthenticationResult) return signedInAs(answer.AuthenticationResult, who);
      if (answer.ChallengeName !== "NEW_PASSWORD_REQUIRED") {
        throw new Error(`Cognito asks for ${answer.ChallengeName}, which the console does not support.`);
      }
      // an invited person's first sign-in (AdminCreateUser's temporary password): they choose theirs
      result.replaceChildren();
      form.replaceWith(newPasswordForm(ui, found, answer, email.value.trim(), who, signedInAs));
    } catch (error) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  });
  show(h("h1", {}, "Sign in"),
    found.sign_in ? form : h("p", { class: "muted" }, found.error ? found.error.message : "This stage has no user pool: use an API key."),
    keyForm);
  if (found.sign_in) email.focus();
}

// "Choose a new password": RespondToAuthChallenge (NEW_PASSWORD_REQUIRED) with the challenge's Session;
// Cognito checks the pool's password policy and says what is wrong (shown as it says it); the person
// tries another password with the same Session. A Session expires after a few minutes: Cognito's
// message is shown then, and signing in again (the temporary password still works) starts over.
function newPasswordForm(ui, found, challenge, typed, who, signedInAs) {
  const { h } = ui;
  const result = h("div", { id: "new-password-result" });
  const chosen = h("input", { type: "password", name: "new-password", autocomplete: "new-password", required: true, size: 32 });
  const again = h("input", { type: "password", name: "confirm-password", autocomplete: "new-password", required: true, size: 32 });
  const params = challenge.ChallengeParameters || {};
  const username = params.USERNAME || params.USER_ID_FOR_SRP || typed;
  const session = challenge.Session;
  const form = h("form", { class: "card", id: "new-password-form" },
    h("p", {}, "This is your first sign-in with the temporary password of your invitation: choose a new password."),
    h("p", {}, h("label", {}, "New password ", chosen)), h("p", {}, h("label", {}, "New password again ", again)),
    h("button", { type: "submit" }, "Set password and sign in"), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (chosen.value !== again.value) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, "The two passwords differ."));
      return;
    }
    result.replaceChildren(h("p", { class: "muted" }, "Setting your password…"));
    try {
      const answer = await cognito(found, "RespondToAuthChallenge", {
        ChallengeName: "NEW_PASSWORD_REQUIRED", ClientId: found.client_id, Session: session,
        ChallengeResponses: { USERNAME: username, NEW_PASSWORD: chosen.value },
      });
      if (!answer.AuthenticationResult) {
        throw new Error(`Cognito asks for ${answer.ChallengeName}, which the console does not support.`);
      }
      signedInAs(answer.AuthenticationResult, who);
    } catch (error) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  });
  setTimeout(() => chosen.focus(), 0);
  return form;
}

// ------------------------------------------------------------------ My leads

// "12 min left" / "overdue by 3 min" until an SLA's deadline; "" when nothing waits.
export function countdown(dueAt, now = Date.now()) {
  if (!dueAt) return "";
  const minutes = Math.round((Date.parse(dueAt) - now) / 60000);
  if (minutes >= 0) return minutes >= 120 ? `${Math.round(minutes / 60)} h left` : `${minutes} min left`;
  return `overdue by ${-minutes} min`;
}

// The deadline of the lead's open SLA: its latest assignment's, while neither accepted nor worked (the
// owner's first activity stops the timer, as acceptance does).
async function slaDue(ui, lead) {
  if (lead.state !== "open" || lead.status === "sales_accepted") return null;
  const found = await ui.api("GET", `/v1/leads/${encodeURIComponent(lead.lead_id)}/assignments`).catch(() => null);
  const latest = found?.assignments?.at(-1);
  return latest && latest.due_at && !latest.accepted_at && !latest.first_activity_at ? latest.due_at : null;
}

export async function myLeadsPage(ui, params) {
  const { h, show, api, failure } = ui;
  show(h("h1", {}, "My leads"), h("p", { class: "muted" }, "Loading…"));
  let page;
  try {
    page = await api("GET", `/v1/leads?owner=me&limit=${encodeURIComponent(params.limit || "25")}${params.cursor ? `&cursor=${encodeURIComponent(params.cursor)}` : ""}`);
  } catch (error) {
    show(h("h1", {}, "My leads"), failure(error));
    return;
  }
  const due = await Promise.all(page.leads.map((lead) => slaDue(ui, lead)));
  const rows = page.leads.map((lead, i) => h("tr", { "data-lead-id": lead.lead_id },
    h("td", {}, h("a", { href: `#/leads/${encodeURIComponent(lead.lead_id)}` }, lead.name || lead.topic || lead.lead_id)),
    h("td", {}, lead.company || "–"),
    h("td", { class: "num" }, lead.score ?? "–"),
    h("td", {}, lead.grade ? h("span", { class: `badge ${lead.grade}` }, lead.grade) : "–"),
    h("td", {}, `${lead.state} · ${lead.status}`),
    h("td", { class: "sla", "data-due": due[i] || "", title: due[i] ? `accept by ${ui.when(due[i])}` : "" }, countdown(due[i])),
    h("td", {}, ui.when(lead.created_at))));
  const next = page.next_cursor
    ? h("button", { type: "button", onclick: () => { location.hash = `#/mine?cursor=${encodeURIComponent(page.next_cursor)}`; } }, "Next →")
    : null;
  show(h("h1", {}, "My leads ", h("span", { class: "muted" }, who())),
    h("table", { id: "my-leads" },
      h("thead", {}, h("tr", {}, ["Name", "Company", "Score", "Grade", "State", "SLA", "Created"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No leads are yours yet.")))),
    h("div", { class: "pager" }, next));
}

// ------------------------------------------------------------------ pipeline and opportunities

const money = (n) => Number(n || 0).toLocaleString("en", { maximumFractionDigits: 0 });

export async function pipelinePage(ui) {
  const { h, show, api, failure } = ui;
  let report;
  try {
    report = await api("GET", "/v1/reports/pipeline");
  } catch (error) {
    show(h("h1", {}, "Pipeline"), failure(error));
    return;
  }
  const stages = Object.keys(report.by_stage);
  show(h("h1", {}, "Pipeline"),
    h("p", {}, `${report.open.count} open opportunities worth ${money(report.open.value)}`,
      report.truncated ? h("span", { class: "muted" }, ` (the first ${report.opportunities_counted} counted)`) : ""),
    h("table", { id: "pipeline-stages" },
      h("thead", {}, h("tr", {}, ["Stage", "Count", "Value"].map((c) => h("th", {}, c)))),
      h("tbody", {}, stages.map((s) => h("tr", { "data-stage": s }, h("td", {}, s),
        h("td", { class: "num" }, report.by_stage[s].count), h("td", { class: "num" }, money(report.by_stage[s].value)))))),
    h("h2", {}, "By owner"),
    h("table", { id: "pipeline-owners" },
      h("thead", {}, h("tr", {}, ["Owner", "Count", "Value", ...stages].map((c) => h("th", {}, c)))),
      h("tbody", {}, Object.entries(report.by_owner).map(([owner, o]) => h("tr", { "data-owner": owner },
        h("td", {}, owner), h("td", { class: "num" }, o.count), h("td", { class: "num" }, money(o.value)),
        stages.map((s) => h("td", { class: "num" }, o.by_stage[s] || 0)))))),
    h("h2", {}, "Closed"),
    h("p", { id: "pipeline-closed" }, Object.entries(report.closed || {}).map(([k, v]) => `${k}: ${v.count} (${money(v.value)})`).join(" · ")),
    h("p", {}, h("a", { href: "#/opportunities" }, "All opportunities →")));
}

export async function opportunitiesPage(ui, params) {
  const { h, show, api, failure } = ui;
  let page;
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  try {
    page = await api("GET", `/v1/opportunities${q.toString() ? `?${q}` : ""}`);
  } catch (error) {
    show(h("h1", {}, "Opportunities"), failure(error));
    return;
  }
  const next = page.next_cursor
    ? h("button", { type: "button", onclick: () => { location.hash = `#/opportunities?cursor=${encodeURIComponent(page.next_cursor)}`; } }, "Next →")
    : null;
  show(h("h1", {}, "Opportunities"),
    h("table", { id: "opportunities" },
      h("thead", {}, h("tr", {}, ["Name", "Stage", "Status", "Owner", "Value", "Close date", "Lead"].map((c) => h("th", {}, c)))),
      h("tbody", {}, page.opportunities.length ? page.opportunities.map((o) => h("tr", { "data-opportunity-id": o.opportunity_id },
        h("td", {}, o.name), h("td", {}, o.stage), h("td", {}, o.status), h("td", {}, o.owner || "–"),
        h("td", { class: "num" }, o.estimated_value === null ? "–" : money(o.estimated_value)), h("td", {}, o.close_date || "–"),
        h("td", {}, h("a", { href: `#/leads/${encodeURIComponent(o.lead_id)}` }, "lead"))))
        : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No opportunities yet.")))),
    h("div", { class: "pager" }, next));
}

// ------------------------------------------------------------------ the nav by role

// Which nav entries a caller sees: a rep or manager works leads; marketing adds the funnel, models and
// quarantine; an admin (or an API key) sees everything, people and rules included.
const NAV = {
  sales_rep: ["mine", "leads", "pipeline", "opportunities"],
  sales_manager: ["mine", "leads", "pipeline", "opportunities"],
  marketing: ["leads", "funnel", "models", "quarantine", "pipeline"],
};

export function navFor(mine) {
  if (mine.includes("admin") || mine.includes("key")) return null; // everything
  return new Set(mine.flatMap((g) => NAV[g] || []));
}

// E-mail pages of the console (issue 18): the outbox (what was sent to whom, opens and clicks) with
// the e-mail as sent, and the templates with an editor and a preview. The app passes its helpers in.

const STATUS_CLASS = { sent: "ok", unknown: "warn", failed: "bad", no_consent: "muted", suppressed: "muted", capped: "muted", unrenderable: "bad" };

export async function outboxPage(ui, params) {
  const { h, api, show, when, query } = ui;
  const page = await api("GET", `/v1/messages${query({ contact_id: params.contact_id, template_id: params.template_id, limit: 100 })}`);
  const rows = page.items.map((m) => h("tr", {},
    h("td", {}, h("a", { href: `#/outbox/${encodeURIComponent(m.message_id)}` }, m.to)),
    h("td", {}, m.subject || "(not rendered)"),
    h("td", { class: "journey" }, m.journey_id
      ? h("a", { href: `#/journeys/${encodeURIComponent(m.journey_id)}`, title: m.cause }, m.journey_id)
      : h("span", { class: "muted", title: m.cause }, "API")),
    h("td", { class: "template" }, h("a", { href: `#/templates/${encodeURIComponent(m.template_id)}` }, m.template_id), ` v${m.version}`),
    h("td", {}, h("span", { class: `status ${STATUS_CLASS[m.status] || ""}`, title: m.reason || "" }, m.status)),
    h("td", {}, when(m.sent_at || m.created_at)),
    h("td", { class: "num" }, m.opens), h("td", { class: "num" }, m.clicks)));
  show(h("h1", {}, "Outbox"),
    h("p", { class: "muted" }, "Every e-mail sent or refused (consent, suppression, frequency cap), newest first."),
    page.items.length
      ? h("table", { id: "outbox" }, h("thead", {}, h("tr", {}, ["To", "Subject", "Journey", "Template", "Status", "Sent at", "Opens", "Clicks"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { id: "outbox-empty" }, "No e-mail yet."));
}

export async function messagePage(ui, messageId) {
  const { h, api, show, when } = ui;
  const m = await api("GET", `/v1/messages/${encodeURIComponent(messageId)}`);
  // sandboxed, no scripts; the pixel is out and links point to their addresses: looking records nothing
  const frame = h("iframe", { id: "email-html", sandbox: "", title: "the e-mail as sent", width: "720", height: "480", srcdoc: m.display_html || "" });
  show(h("p", {}, h("a", { href: "#/outbox" }, "← Outbox")),
    h("h1", {}, m.subject || m.message_id),
    h("dl", { class: "facts" },
      [["To", m.to], ["Status", m.status + (m.reason ? ` (${m.reason})` : "")], ["Template", `${m.template_id} v${m.version}`],
        ["Sent by", m.journey_id ? `journey ${m.journey_id} (${m.cause})` : m.cause],
        ["Sent at", when(m.sent_at)], ["Opens", m.opens], ["Clicks", m.clicks],
        ["Links", m.links.map((l) => `${l.name}: ${l.url}`).join(", ") || "none"]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v ?? ""))])),
    m.html ? frame : "",
    h("details", {}, h("summary", {}, "Text part"), h("pre", { id: "email-text" }, m.text || "")));
}

export async function templatesPage(ui, templateId) {
  const { h, api, show } = ui;
  const list = await api("GET", "/v1/email-templates");
  const current = templateId ? await api("GET", `/v1/email-templates/${encodeURIComponent(templateId)}`).catch(() => null) : null;
  const field = (name, label, value, rows) => h("label", {}, label,
    rows ? h("textarea", { name, rows, spellcheck: "false" }, value || "") : h("input", { name, value: value || "" }));
  const result = h("div", { id: "template-result" });
  const preview = h("iframe", { id: "template-preview", sandbox: "", title: "preview", width: "720", height: "360" });
  const form = h("form", { id: "template-form" },
    field("template_id", "Template id", current?.template_id || templateId || ""),
    field("subject", "Subject", current?.subject || "Hello {{ contact.first_name | default('there') }}"),
    field("html", "HTML", current?.html || "<p>Hello {{ contact.first_name | default('there') }}</p>", 8),
    field("text", "Text", current?.text || "Hello {{ contact.first_name | default('there') }}", 4),
    field("consent", "Consent needed", current?.consent || "marketing"),
    h("button", { type: "submit" }, "Save and preview"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const id = values.template_id;
    delete values.template_id;
    try {
      const saved = await api("PUT", `/v1/email-templates/${encodeURIComponent(id)}`, values);
      const shown = await api("GET", `/v1/email-templates/${encodeURIComponent(id)}/preview`);
      preview.srcdoc = shown.html;
      result.replaceChildren(h("p", { class: "ok" }, `Saved version ${saved.version}. Preview subject: ${shown.subject}`));
    } catch (error) {
      const fields = error.body?.error?.fields || [];
      preview.srcdoc = ""; // the last good preview is not this template's
      result.replaceChildren(h("p", { class: "bad" }, "Not saved:"),
        h("ul", {}, (fields.length ? fields : [{ message: error.message }]).map((f) => h("li", {}, f.message))));
    }
  });
  show(h("h1", {}, "E-mail templates"),
    h("ul", { id: "templates" }, list.items.map((t) => h("li", {}, h("a", { href: `#/templates/${encodeURIComponent(t.template_id)}` }, `${t.template_id} (v${t.version})`), ` ${t.subject}`))),
    form, result, preview);
}

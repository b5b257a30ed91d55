/* Leadflow capture.js: <form data-leadflow-form="FORM_ID">; see docs/capture.md */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = (script && script.getAttribute("data-leadflow-api")) ||
    (script && script.src ? new URL(script.src, location.href).origin : location.origin);
  // fill time from page load (autofill fills without a focus or key event)
  function elapsed() { return Math.round(performance.now()); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var h = Array.from(crypto.getRandomValues(new Uint8Array(16)), function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-4" + h.slice(13, 16) + "-a" + h.slice(17, 20) + "-" + h.slice(20);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    e.className = cls; e.textContent = text;
    return e;
  }

  function clear(form) {
    var q = form.querySelectorAll.bind(form);
    q(".leadflow-error").forEach(function (e) { e.remove(); });
    q("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }

  function status(form, text, kind) {
    var box = form.querySelector("[data-leadflow-status]");
    if (!box) {
      box = form.appendChild(el("div", "", ""));
      box.setAttribute("data-leadflow-status", "");
      box.setAttribute("role", "status");
    }
    box.className = "leadflow-status leadflow-" + kind;
    box.textContent = text;
  }

  function showErrors(form, fields, message) {
    var shown = 0;
    (fields || []).forEach(function (f, i) {
      var input = form.elements.namedItem(f.field);
      if (input && input.length && !input.tagName) input = input[0];
      if (!input) return;
      var note = el("span", "leadflow-error", f.message);
      note.id = "leadflow-error-" + form.getAttribute("data-leadflow-form") + "-" + i;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      input.insertAdjacentElement("afterend", note);
      if (!shown++) input.focus();
    });
    status(form, shown ? "Please check the highlighted fields." : message || "Sorry, that did not work.", "failed");
  }

  function fire(f, n, d) { f.dispatchEvent(new CustomEvent("leadflow:" + n, { detail: d })); }

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function post(form, body, key, tries) {
    var url = base + "/v1/forms/" + encodeURIComponent(form.getAttribute("data-leadflow-form")) + "/submissions";
    return fetch(url, {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": key },
      body: body
    }).then(function (r) {
      if (r.status >= 500 && tries > 1) throw new Error("retry");
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    }).catch(function (e) {
      if (tries > 1) return wait(600 * (4 - tries)).then(function () { return post(form, body, key, tries - 1); });
      throw e;
    });
  }

  function attach(form) {
    if (form.__leadflow) return;
    form.__leadflow = true;
    var attempt = null, busy = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) return;
      clear(form);
      var data = new URLSearchParams();
      new FormData(form).forEach(function (v, k) { if (typeof v === "string") data.append(k, v); });
      var fields = data.toString();
      // an unanswered attempt is re-sent byte for byte, same key; changed fields: a new attempt
      if (!attempt || attempt.fields !== fields) {
        data.append("_fill_ms", String(elapsed()));
        attempt = { fields: fields, key: uuid(), body: data.toString() };
      }
      var button = form.querySelector("[type=submit]");
      busy = true;
      if (button) button.disabled = true;
      status(form, "Sending…", "sending");
      post(form, attempt.body, attempt.key, 3).then(function (r) {
        if (r.status === 201 || r.status === 202) {
          attempt = null;
          form.classList.add("leadflow-sent");
          status(form, form.getAttribute("data-leadflow-success") || "Thank you! We will be in touch.", "sent");
          fire(form, "success", r.body);
          form.reset();
        } else {
          var err = (r.body && r.body.error) || {};
          if (r.status < 500) attempt = null;
          showErrors(form, err.fields || (err.field ? [err] : []), err.message);
          fire(form, "error", r.body);
        }
      }, function () {
        status(form, "We could not reach the server. Please try again.", "failed");
      }).then(function () {
        busy = false;
        if (button) button.disabled = false;
      });
    });
  }

  function init() { document.querySelectorAll("form[data-leadflow-form]").forEach(attach); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

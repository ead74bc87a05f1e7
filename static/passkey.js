/* Nyckel passkeys (WebAuthn). Self-hosted; no inline script, nothing from other origins.
 *
 * Any form marked
 *   <form data-passkey="create|get" data-start="/url" data-finish="/url" hidden>
 * is shown when the browser supports passkeys. On submit its fields are posted as JSON to
 * data-start, which answers {challenge_id, options}; the browser's
 * navigator.credentials.create()/get() runs with those options (binary values travel as
 * base64url); then {challenge_id, credential, ...fields} is posted to data-finish, which
 * answers {redirect}. An answer {error} is shown in the form's [data-passkey-error] element;
 * an answer {redirect} (also on a refusal, e.g. "log in again") is followed.
 *
 * Options on the form: data-include="id ..." adds the values of those inputs (by their
 * name) to the posted fields; data-conditional also starts a conditional-mediation request
 * (the browser's autofill list on an input with autocomplete="... webauthn") when the
 * browser supports it; data-failed / data-cancelled / data-unsupported hold the texts shown
 * when something fails without a message from the server.
 */
(function () {
  "use strict";

  function toBuffer(text) {
    var s = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
  }

  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBuffer(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: toBuffer(pk.user.id) });
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBuffer(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    return pk;
  }

  function credentialJson(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) { out.response.userHandle = toText(r.userHandle); }
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { ok: res.ok, data: data || {} };
      });
    });
  }

  function fields(form) {
    var out = {};
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") { out[key] = value; }
    });
    (form.dataset.include || "").split(/\s+/).filter(Boolean).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.value) { out[el.name || id] = el.value; }
    });
    return out;
  }

  function show(form, text) {
    var el = form.querySelector("[data-passkey-error]");
    if (!el) { return; }
    el.textContent = text || "";
    el.hidden = !text;
  }

  function refused(form, data) {
    if (data && data.redirect) {
      window.location.assign(data.redirect);
      return;
    }
    show(form, (data && data.error) || form.dataset.failed || "");
  }

  // The conditional (autofill) request in progress, if any: a button press aborts it first.
  var conditional = null;

  function run(form, mediation, signal) {
    var body = fields(form);
    if (mediation === "conditional") { delete body.email; }
    return post(form.dataset.start, body).then(function (started) {
      if (!started.ok) { return refused(form, started.data); }
      var ceremony;
      if (form.dataset.passkey === "create") {
        ceremony = navigator.credentials.create({ publicKey: creationOptions(started.data.options) });
      } else {
        var request = { publicKey: requestOptions(started.data.options) };
        if (mediation) { request.mediation = mediation; }
        if (signal) { request.signal = signal; }
        ceremony = navigator.credentials.get(request);
      }
      return ceremony.then(function (cred) {
        if (!cred) { return; }
        body.challenge_id = started.data.challenge_id;
        body.credential = credentialJson(cred);
        return post(form.dataset.finish, body).then(function (done) {
          if (done.ok && done.data.redirect) {
            window.location.assign(done.data.redirect);
            return;
          }
          refused(form, done.data);
        });
      }, function (err) {
        if (err && err.name === "AbortError") { return; }
        if (mediation === "conditional") { return; }
        show(form, err && err.name === "NotAllowedError" ? form.dataset.cancelled : form.dataset.failed);
      });
    });
  }

  function init() {
    var forms = document.querySelectorAll("form[data-passkey]");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    forms.forEach(function (form) {
      form.hidden = false;
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (conditional) { conditional.abort(); conditional = null; }
        show(form, "");
        run(form, undefined, undefined).catch(function () { show(form, form.dataset.failed); });
      });
      if (form.hasAttribute("data-conditional") &&
          typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
          if (!available) { return; }
          conditional = new AbortController();
          run(form, "conditional", conditional.signal).catch(function () {});
        }).catch(function () {});
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

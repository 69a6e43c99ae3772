// Security-key glue, the only JavaScript of the site. A form with data-webauthn="register"
// or "authenticate" gets its options from data-options-url, calls navigator.credentials,
// and posts the credential (with the form's other fields) as JSON to data-verify-url. The
// CSRF token goes in the X-CSRF-Token header. The server answers {redirect, recovery_codes}
// or {message}.
(function () {
  "use strict";

  var form = document.querySelector("form[data-webauthn]");
  if (!form) {
    return;
  }
  var errorBox = document.getElementById("webauthn-error");
  var statusLine = document.getElementById("webauthn-status");
  var button = form.querySelector("button[type=submit]");

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBuffer(item.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    });
  }

  // PublicKeyCredential.toJSON() where the browser has it; the same shape by hand otherwise.
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try {
        return credential.toJSON();
      } catch (ignored) {
        // fall through to the manual encoding
      }
    }
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      out.response.userHandle = toText(response.userHandle);
    }
    return out;
  }

  function show(element, text) {
    if (!element) {
      return;
    }
    var target = element.querySelector("p") || element;
    target.textContent = text;
    element.hidden = !text;
  }

  function fields() {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token") {
        data[name] = value;
      }
    });
    return data;
  }

  function post(url, body) {
    var token = form.querySelector("input[name=csrf_token]");
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": token ? token.value : "",
      },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        if (response.redirected) {  // signed out, or a fresh confirmation is needed
          window.location.assign(response.url);
          return new Promise(function () {});
        }
        throw new Error("The server gave an unexpected answer (HTTP " + response.status + ").");
      }
      return response.json().then(function (data) {
        if (!response.ok) {
          throw new Error(data.message || "The request failed (HTTP " + response.status + ").");
        }
        return data;
      });
    });
  }

  // Only ever go to a page of this site, as the browser's own URL parser reads the target
  // (the server already sends only plain local paths; this is the second lock).
  function localTarget(target) {
    try {
      var url = new URL(target, window.location.origin);
      if (url.origin === window.location.origin) {
        return url.pathname + url.search + url.hash;
      }
    } catch (ignored) {
      // not a URL at all
    }
    return form.dataset.homeUrl;  // the account page (the template names its route)
  }

  function showCodes(codes, next) {
    var section = document.getElementById("webauthn-codes");
    var list = section && section.querySelector("ol");
    if (!list) {
      window.location.assign(next);
      return;
    }
    codes.forEach(function (code) {
      var item = document.createElement("li");
      var text = document.createElement("code");
      text.className = "secret";
      text.textContent = code;
      item.appendChild(text);
      list.appendChild(item);
    });
    form.style.display = "none";  // .form sets display, which beats [hidden]
    section.hidden = false;
  }

  function messageFor(error) {
    if (error && error.name === "NotAllowedError") {
      return "The security key request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This security key is already registered. Use another key.";
    }
    return (error && error.message) || "Something went wrong with the security key.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(errorBox, "This browser does not support security keys. Use another factor.");
      return;
    }
    var registering = form.dataset.webauthn === "register";
    var data = fields();
    show(errorBox, "");
    show(statusLine, "Touch your security key now.");
    if (button) {
      button.disabled = true;
    }
    post(form.dataset.optionsUrl)
      .then(function (options) {
        return registering
          ? navigator.credentials.create({ publicKey: creationOptions(options) })
          : navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        if (!credential) {
          throw new Error("The security key gave no answer. Try again.");
        }
        show(statusLine, "Checking the security key…");
        data.credential = credentialJSON(credential);
        return post(form.dataset.verifyUrl, data);
      })
      .then(function (result) {
        show(statusLine, "");
        if (result.recovery_codes && result.recovery_codes.length) {
          showCodes(result.recovery_codes, localTarget(result.redirect));
        } else {
          window.location.assign(localTarget(result.redirect));
        }
      })
      .catch(function (error) {
        show(statusLine, "");
        show(errorBox, messageFor(error));
        if (button) {
          button.disabled = false;
        }
      });
  });
})();

// Copy and Download buttons for secrets shown once (recovery codes, tokens, promo codes,
// snippets). Buttons carry data-copy / data-download with the id of the block to take the
// text from; they stay hidden when this script does not run. No inline script: strict CSP.
(function () {
  "use strict";

  function textOf(id) {
    var el = document.getElementById(id);
    if (!el) return "";
    var items = el.querySelectorAll("li");
    if (items.length) {
      return Array.prototype.map.call(items, function (li) { return li.textContent.trim(); })
        .join("\n") + "\n";
    }
    return el.textContent.trim() + "\n";
  }

  function say(button, message) {
    var status = button.parentElement.querySelector(".copy-status");
    if (status) status.textContent = message;
  }

  function copyBySelection(id) {
    var el = document.getElementById(id);
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = document.execCommand("copy");
    selection.removeAllRanges();
    return ok;
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy");
      var text = textOf(id);
      var done = function () { button.setAttribute("data-copied", "true"); say(button, "Copied."); };
      var fallback = function () {
        if (copyBySelection(id)) done(); else say(button, "Select the text and copy it.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  document.querySelectorAll("[data-download]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-filename") || "codes.txt";
      var blob = new Blob([textOf(button.getAttribute("data-download"))], { type: "text/plain" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
      say(button, "Downloaded " + name + ".");
    });
  });
})();

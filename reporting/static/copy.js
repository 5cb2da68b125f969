// kidgate: copy the reported address to the clipboard. Served as a file (the pages' CSP
// allows only script-src 'self'); nothing else runs on the page.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var buttons = document.querySelectorAll("button[data-copy-target]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      if (!field) { return; }
      var done = function () { button.textContent = button.getAttribute("data-copied") || "OK"; };
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
});

// Small behaviours: the mobile menu, closing open dropdowns, copy buttons, confirmations.
(function () {
  var toggle = function () { return document.querySelector("[data-menu-toggle]"); };

  function setMenu(open) {
    document.body.classList.toggle("nav-open", open);
    var button = toggle();
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = document.querySelector("#sidebar a");
      if (first) first.focus();
    } else if (button && document.activeElement && document.activeElement.closest("#sidebar")) {
      button.focus();
    }
  }

  function closeDropdowns(except) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }

  function copyText(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = source.textContent.trim();
    var label = button.textContent;
    var done = function (message) {
      button.textContent = message;
      setTimeout(function () { button.textContent = label; }, 1600);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { selectText(source); done("Press Ctrl+C"); });
    } else {
      // Plain-http deployments have no Clipboard API: select the text so one key press copies it.
      selectText(source);
      done("Press Ctrl+C");
    }
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-menu-toggle]")) { setMenu(!document.body.classList.contains("nav-open")); return; }
    if (event.target.closest("[data-menu-close]")) { setMenu(false); return; }
    closeDropdowns(event.target.closest("details.dropdown"));
    var copy = event.target.closest("[data-copy]");
    if (copy) copyText(copy);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.dropdown[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    } else if (document.body.classList.contains("nav-open")) {
      setMenu(false);
    }
  });

  // One confirmation for every risky action: a form with data-confirm (what happens) and, optionally,
  // data-confirm-title, -keeps (what stays), -alternative (the safer choice) and -action (the button's
  // words) opens the page's confirmation dialog; only its Confirm button sends the form. Without JS the
  // form is sent as it is, and the server's own confirmation page (where there is one) still stands.
  var dialog = document.getElementById("confirm-dialog");
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (!message || !dialog || form.getAttribute("data-confirmed") === "yes") return;
    event.preventDefault();
    var submitter = event.submitter || null;
    function fill(selector, value) {
      var node = dialog.querySelector(selector);
      node.textContent = value || "";
      node.hidden = !value;
    }
    fill("[data-confirm-title]", form.getAttribute("data-confirm-title") || "Are you sure?");
    fill("[data-confirm-text]", message);
    fill("[data-confirm-keeps]", form.getAttribute("data-confirm-keeps"));
    fill("[data-confirm-alternative]", form.getAttribute("data-confirm-alternative"));
    dialog.querySelector("[data-confirm-ok]").textContent = form.getAttribute("data-confirm-action") || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener("close", function once() {
      dialog.removeEventListener("close", once);
      if (dialog.returnValue !== "confirm") return;
      form.setAttribute("data-confirmed", "yes");
      if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
    });
    dialog.showModal();
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.matches("select, input[type=checkbox]")) form.requestSubmit();
  });

  // Form sections that only matter for some choices (a promo's code for shared-code kinds, tiers for
  // tiered ones, the patients list for a named audience). Without JS every section stays visible.
  function chosen(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    if (checked) return checked.value;
    var select = form.querySelector('select[name="' + name + '"]');
    return select ? select.value : null;
  }

  function syncDependents(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (block) {
      var value = chosen(form, block.getAttribute("data-show-when"));
      if (value === null) return;
      var wanted = block.getAttribute("data-show-values").split(" ");
      block.hidden = wanted.indexOf(value) === -1;
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    if (form.querySelector("[data-show-when]")) syncDependents(form);
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form");
    if (form && form.querySelector("[data-show-when]")) syncDependents(form);
  });

})();

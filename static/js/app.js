// Small behaviours: the mobile menu, closing open dropdowns, copy buttons, confirmations.
(function () {
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) { document.body.classList.toggle("nav-open"); return; }
    document.querySelectorAll("details.dropdown[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var text = document.getElementById(copy.dataset.copy).textContent.trim();
      navigator.clipboard && navigator.clipboard.writeText(text).then(function () {
        var label = copy.textContent; copy.textContent = "Copied"; setTimeout(function () { copy.textContent = label; }, 1500);
      });
    }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.matches("select")) form.requestSubmit();
  });
})();

// Small behaviours without inline scripts (the Content-Security-Policy forbids them):
// "tick all" boxes, the print button, and the CSRF header on htmx requests.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-check-all");
      box.form && box.closest("form").querySelectorAll('input[name="' + name + '"]').forEach(function (item) {
        item.checked = box.checked;
      });
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.body.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = document.body.getAttribute("data-csrf");
  });
});

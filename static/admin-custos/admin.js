/* Custos admin: accessible names Django's stock admin leaves out (axe-core "label" rule).
 * - a tabular inline's cells have a column header but no <label>: name each field
 *   "<header> (row n)";
 * - select2's inline search box (autocomplete fields) has no label: give it its field's label.
 * Re-applied when the DOM changes (select2 re-renders its search box; "Add another" adds rows). */
(function () {
  "use strict";

  function text(el) {
    return (el && el.textContent ? el.textContent : "").replace(/[:*]\s*$/, "").replace(/\s+/g, " ").trim();
  }

  function labelTabularInlines() {
    document.querySelectorAll(".inline-group .tabular table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), text);
      table.querySelectorAll("tbody tr.form-row").forEach(function (row, index) {
        Array.prototype.forEach.call(row.children, function (cell, column) {
          cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
            if ((field.labels && field.labels.length) || field.getAttribute("aria-label")) return;
            var head = heads[column] || field.name;
            field.setAttribute("aria-label", head + " (row " + (index + 1) + ")");
          });
        });
      });
    });
  }

  function labelSelect2() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
      var container = select.nextElementSibling;
      if (!label || !container) return;
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        if (!field.getAttribute("aria-label")) field.setAttribute("aria-label", text(label));
      });
    });
  }

  var scheduled = false;
  function apply() {
    scheduled = false;
    labelTabularInlines();
    labelSelect2();
  }
  function schedule() {
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(apply);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    apply();
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
  });
  window.addEventListener("load", apply);
})();

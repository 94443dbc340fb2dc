/* Custos admin: accessible names Django's stock admin leaves out (axe-core "label" rule).
 * - a tabular inline's cells have a column header but no <label>: name each field
 *   "<header> (row n)";
 * - select2's inline search box (autocomplete fields) has no label: give it its field's label;
 * - change lists: long identifiers get line-break opportunities after . _ : / (text nodes only).
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

  // Long identifiers in change lists may break after . _ : / (a <wbr>), never inside a word.
  var BREAK_AFTER = /([._:/])/;
  function breakableIdentifiers() {
    document.querySelectorAll("#result_list tbody td, #result_list tbody th").forEach(function (cell) {
      if (cell.dataset.custosWbr) return;
      cell.dataset.custosWbr = "1";
      var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      var nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach(function (node) {
        var value = node.nodeValue;
        if (value.length < 16 || !BREAK_AFTER.test(value)) return;
        var fragment = document.createDocumentFragment();
        value.split(BREAK_AFTER).forEach(function (part) {
          if (!part) return;
          fragment.appendChild(document.createTextNode(part));
          if (BREAK_AFTER.test(part)) fragment.appendChild(document.createElement("wbr"));
        });
        node.parentNode.replaceChild(fragment, node);
      });
    });
  }

  var scheduled = false;
  function apply() {
    scheduled = false;
    labelTabularInlines();
    labelSelect2();
    breakableIdentifiers();
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

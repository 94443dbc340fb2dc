/* Catalog pages: keyboard search ("/" focuses the box, arrow keys move through the hits), the
   asset page's tabs (WAI-ARIA tab pattern over plain anchors: without JS every section shows and
   the tab links jump to it) and the schema tab's column finder. No dependency besides htmx. */
(function () {
  "use strict";

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // "/" focuses the search box; ArrowDown/ArrowUp walk the hits (or the asset table's links)
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("q");
    if (event.key === "/" && box && !typing(document.activeElement) && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var links = Array.prototype.slice.call(document.querySelectorAll("#hits a.hit, table.assets tbody td:first-child a"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at === -1 && document.activeElement !== box) return;
    event.preventDefault();
    var next = event.key === "ArrowDown" ? at + 1 : at - 1;
    if (next < 0) { if (box) box.focus(); return; }
    links[Math.min(next, links.length - 1)].focus();
  });

  // tabs
  function setupTabs(nav) {
    var tabs = Array.prototype.slice.call(nav.querySelectorAll("a[data-tab]"));
    function panelOf(tab) { return document.getElementById(tab.getAttribute("href").slice(1)); }
    nav.setAttribute("role", "tablist");
    document.body.classList.add("tabs-on");
    function apply(index, focus, remember) {
      tabs.forEach(function (tab, i) {
        var panel = panelOf(tab), on = i === index;
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        if (!panel) return;
        tab.setAttribute("aria-controls", panel.id);
        panel.setAttribute("role", "tabpanel");
        panel.tabIndex = 0;
        panel.hidden = !on;
      });
      nav.dataset.selected = String(index);
      if (focus) tabs[index].focus();
      if (remember && history.replaceState) history.replaceState(null, "", "#" + panelOf(tabs[index]).id);
    }
    function indexForHash() {
      var id = decodeURIComponent(location.hash.slice(1));
      var target = id && document.getElementById(id);
      if (!target) return -1;
      for (var i = 0; i < tabs.length; i++) {
        var panel = panelOf(tabs[i]);
        if (panel && panel.contains(target)) return i;
      }
      return -1;
    }
    function followHash() {
      var i = indexForHash();
      if (i === -1) return false;
      apply(i, false, false);
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target && target !== panelOf(tabs[i])) {
        target.scrollIntoView({ block: "center" });
        target.classList.add("target");
      }
      return true;
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function (event) { event.preventDefault(); apply(i, true, true); });
      tab.addEventListener("keydown", function (event) {
        var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        apply((next + tabs.length) % tabs.length, true, true);
      });
    });
    window.addEventListener("hashchange", followHash);
    // an htmx swap replaces a panel (About after an edit): keep it selected and marked up
    document.body.addEventListener("htmx:afterSwap", function () { apply(Number(nav.dataset.selected || 0), false, false); });
    if (!followHash()) apply(0, false, false);
  }

  // schema tab: filter the column rows as one types
  function setupColumnFilter(input) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("table.schema tbody tr[data-column]"));
    var count = document.querySelector("[data-column-count]");
    input.closest("p").hidden = false;
    input.addEventListener("input", function () {
      var term = input.value.trim().toLowerCase(), shown = 0;
      rows.forEach(function (row) {
        var on = !term || row.dataset.column.indexOf(term) !== -1;
        row.hidden = !on;
        if (on) shown++;
      });
      if (count) count.textContent = term ? shown + " of " + rows.length + " columns" : "";
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), setupTabs);
    Array.prototype.forEach.call(document.querySelectorAll("[data-column-filter]"), setupColumnFilter);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

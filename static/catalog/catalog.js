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


  // About tab: owners/stewards, tags and glossary-term pickers. Progressive enhancement of the
  // plain "names, comma-separated" input (kept as the value the form posts): chosen entries as
  // chips with a remove button, and a search box (ARIA combobox) over the box's data-search-url:
  // catalog:people_search (active users the signed-in user may add; answers "users"),
  // catalog:tag_search and catalog:term_search (existing tags / terms; answer "items" with
  // value and detail). The service still decides on save.
  var pickers = 0;
  function setupPicker(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var n = ++pickers, what = box.dataset.what || "person";
    var hint = box.dataset.searchHint || "search by username or name", none = box.dataset.none || "Nobody yet.";
    var plain = box.querySelector(".picker-plain"), value = plain.querySelector("input");
    var chosen = value.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    plain.hidden = true;

    function make(tag, attrs, text) {
      var el = document.createElement(tag);
      for (var key in attrs) el.setAttribute(key, attrs[key]);
      if (text !== undefined) el.textContent = text;
      return el;
    }
    var heading = make("p", { "class": "picker-label", id: "picker-" + n + "-label" }, what.charAt(0).toUpperCase() + what.slice(1) + "s");
    var chips = make("ul", { "class": "chips", "aria-labelledby": "picker-" + n + "-label" });
    var findLabel = make("label", { "for": "picker-" + n + "-find" }, "Add " + (/^[aeiou]/.test(what) ? "an " : "a ") + what + " (" + hint + ")");
    var find = make("input", { id: "picker-" + n + "-find", type: "text", role: "combobox", autocomplete: "off",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": "picker-" + n + "-list" });
    var list = make("ul", { id: "picker-" + n + "-list", role: "listbox", "class": "picker-options", "aria-label": box.dataset.none ? "Matching " + what + "s" : "Matching people" });
    list.hidden = true;
    var status = make("p", { "class": "muted small", "aria-live": "polite" });
    [heading, chips, findLabel, find, list, status].forEach(function (el) { box.appendChild(el); });

    function sync() { value.value = chosen.join(", "); }
    function renderChips() {
      while (chips.firstChild) chips.removeChild(chips.firstChild);
      chosen.forEach(function (name) {
        var li = make("li", { "class": "chip" });
        li.appendChild(make("span", {}, name));
        var remove = make("button", { type: "button", "aria-label": "Remove " + what + " " + name, title: "Remove" }, "×");
        remove.addEventListener("click", function () {
          chosen = chosen.filter(function (c) { return c !== name; });
          sync(); renderChips();
          status.textContent = name + " removed; save to apply.";
          find.focus();
        });
        li.appendChild(remove);
        chips.appendChild(li);
      });
      if (!chosen.length) chips.appendChild(make("li", { "class": "muted" }, none));
    }

    var options = [], active = -1, timer = null, asked = 0;
    function close() {
      list.hidden = true; find.setAttribute("aria-expanded", "false"); find.removeAttribute("aria-activedescendant"); active = -1;
    }
    function highlight(i) {
      active = i;
      options.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
      if (i >= 0) { find.setAttribute("aria-activedescendant", options[i].id); options[i].scrollIntoView({ block: "nearest" }); }
      else find.removeAttribute("aria-activedescendant");
    }
    function pick(name) {
      if (chosen.indexOf(name) === -1) chosen.push(name);
      sync(); renderChips(); close();
      find.value = "";
      status.textContent = name + " added; save to apply.";
      find.focus();
    }
    function search() {
      var ticket = ++asked;
      var url = box.dataset.searchUrl + "?q=" + encodeURIComponent(find.value.trim()) + "&exclude=" + encodeURIComponent(chosen.join(","));
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          if (ticket !== asked) return;  // a newer search is under way
          while (list.firstChild) list.removeChild(list.firstChild);
          options = [];
          if (!answer.ok) { status.textContent = "Search failed: " + ((answer.body.error && answer.body.error.message) || "refused"); close(); return; }
          var found = answer.body.items || (answer.body.users || []).map(function (u) {
            return { value: u.username, detail: [u.name, u.role].filter(Boolean).join(" · ") };
          });
          found.forEach(function (item, i) {
            var li = make("li", { role: "option", id: "picker-" + n + "-opt-" + i, "aria-selected": "false", "data-value": item.value });
            li.appendChild(make("span", { "class": "who" }, item.value));
            if (item.detail) li.appendChild(make("span", { "class": "muted small" }, " " + item.detail));
            li.addEventListener("mousedown", function (event) { event.preventDefault(); });
            li.addEventListener("click", function () { pick(item.value); });
            list.appendChild(li);
            options.push(li);
          });
          // a tag the user may create: offered last, as "Create tag ..." (the service creates it on save)
          var typed = find.value.trim();
          var creating = false;
          if (box.dataset.create && typed && typed.indexOf(",") === -1 && chosen.indexOf(typed) === -1 &&
              !found.some(function (item) { return item.value === typed; })) {
            var li = make("li", { role: "option", id: "picker-" + n + "-opt-new", "aria-selected": "false", "data-value": typed, "class": "picker-create" });
            li.appendChild(make("span", {}, "Create " + what + " \u201c" + typed + "\u201d"));
            li.addEventListener("mousedown", function (event) { event.preventDefault(); });
            li.addEventListener("click", function () { pick(typed); });
            list.appendChild(li);
            options.push(li);
            creating = true;
          }
          if (!options.length) { status.textContent = box.dataset.none ? "No " + what + " matches." : "No active user matches."; close(); return; }
          var matches = found.length ? found.length + (answer.body.more ? "+" : "") + " match" + (found.length === 1 && !answer.body.more ? "" : "es") : "No " + what + " matches";
          status.textContent = matches + (creating ? ", or create \u201c" + typed + "\u201d" : "") + "; arrow keys to choose, Enter to add.";
          list.hidden = false; find.setAttribute("aria-expanded", "true"); highlight(-1);
        })
        .catch(function () { if (ticket === asked) { status.textContent = "Search failed."; close(); } });
    }
    find.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 200); });
    find.addEventListener("focus", function () { if (!find.value) { clearTimeout(timer); timer = setTimeout(search, 0); } });
    find.addEventListener("blur", function () { setTimeout(close, 150); });
    find.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { search(); return; }
        // positions -1 (the box itself) .. options.length - 1, wrapping around
        var next = active + (event.key === "ArrowDown" ? 1 : -1);
        if (next >= options.length) next = -1;
        if (next < -1) next = options.length - 1;
        highlight(next);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) { event.preventDefault(); pick(options[active].dataset.value); }
        else if (find.value.trim()) { event.preventDefault(); }  // Enter in the search box never submits the form
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); event.stopPropagation(); close(); }
      }
    });
    renderChips();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), setupTabs);
    Array.prototype.forEach.call(document.querySelectorAll("[data-column-filter]"), setupColumnFilter);
    Array.prototype.forEach.call(document.querySelectorAll("[data-picker]"), setupPicker);
    // the About section is swapped in by htmx after an edit: enhance its new pickers
    document.body.addEventListener("htmx:load", function (event) {
      var root = event.detail && event.detail.elt;
      if (root && root.querySelectorAll) Array.prototype.forEach.call(root.querySelectorAll("[data-picker]"), setupPicker);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

/* Review queue keyboard: j/k move between suggestions, a/r start accepting/rejecting the current one
   (focus its reason field; Enter submits that decision), x toggles it for its asset's bulk decision,
   Esc leaves the field. Bulk decisions ask for confirmation naming the count and the asset. */
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.suggestion"));
  var status = document.getElementById("shortcut-status");
  var current = -1;
  var KEY = "custos-review-row";

  function say(text) { if (status) { status.textContent = text; } }

  function select(index) {
    if (!rows.length) { return; }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) { rows[current].classList.remove("current"); }
    current = index;
    var row = rows[current];
    row.classList.add("current");
    row.focus({preventScroll: true});
    row.scrollIntoView({block: "nearest"});
    var label = row.querySelector(".entity");
    var column = row.querySelector(".colname");
    say((current + 1) + " of " + rows.length + ": " + (label ? label.textContent : "") + " on " + (column ? column.textContent : ""));
  }

  function start(decision) {
    if (current < 0) { select(0); }
    var row = rows[current];
    if (!row) { return; }
    var form = row.querySelector("form.decide");
    if (!form) { return; }
    form.dataset.decision = decision;
    row.classList.remove("will-confirm", "will-reject");
    row.classList.add("will-" + decision);
    var input = form.querySelector("input[name=reason]");
    input.focus();
    var text = (decision === "confirm" ? "Accept" : "Reject") + ": type the reason, then Enter (Esc to cancel).";
    hint(form, text);
    say(text);
  }

  function hint(form, text) {
    var el = form.querySelector(".pending-hint");
    if (el) { el.textContent = text; }
  }

  var NOT_TEXT = {checkbox: 1, radio: 1, button: 1, submit: 1, reset: 1};
  function typing(target) {
    if (!target) { return false; }
    if (target.tagName === "INPUT") { return !NOT_TEXT[target.type]; }
    return target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (typing(target)) {
      if (event.key === "Escape") {
        var form = target.form;
        if (form) { delete form.dataset.decision; hint(form, ""); }
        var row = target.closest("tr.suggestion");
        if (row) { row.classList.remove("will-confirm", "will-reject"); select(rows.indexOf(row)); } else { target.blur(); }
        say("");
        event.preventDefault();
      }
      return;
    }
    var handled = true;
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current < 0 ? 0 : current - 1); break;
      case "a": start("confirm"); break;
      case "r": start("reject"); break;
      case "x":
        if (current >= 0) {
          var box = rows[current].querySelector("input[type=checkbox][name=ids]");
          if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", {bubbles: true})); }
        }
        break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // Enter in a row's reason field submits the decision chosen with a/r; without one it asks.
  Array.prototype.forEach.call(document.querySelectorAll("form.decide"), function (form) {
    var input = form.querySelector("input[name=reason]");
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var decision = form.dataset.decision;
      if (!decision) { hint(form, "Press Accept or Reject (or Esc, then a or r)."); say("Press Accept or Reject (or Esc, then a or r)."); return; }
      if (!input.value.trim()) { say("A reason is required."); input.reportValidity(); return; }
      form.requestSubmit(form.querySelector("button[value=" + decision + "]"));
    });
    form.addEventListener("submit", function () {
      var row = form.closest("tr.suggestion");
      try { sessionStorage.setItem(KEY, String(rows.indexOf(row))); } catch (e) { /* private mode */ }
    });
  });

  // Bulk: select-all, a live count, and a confirmation naming what will happen.
  function boxes(formId) { return document.querySelectorAll("input[type=checkbox][name=ids][form='" + formId + "']"); }
  function count(formId) {
    var n = Array.prototype.filter.call(boxes(formId), function (b) { return b.checked; }).length;
    var label = document.querySelector("[data-selected-count='" + formId + "']");
    if (label) { label.textContent = n + " selected"; }
    return n;
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), function (all) {
    var formId = all.getAttribute("data-select-all");
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes(formId), function (b) { b.checked = all.checked; });
      count(formId);
    });
  });
  document.addEventListener("change", function (event) {
    var formId = event.target.getAttribute && event.target.getAttribute("form");
    if (formId && event.target.name === "ids") { count(formId); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("form.bulk"), function (form) {
    form.addEventListener("submit", function (event) {
      var n = count(form.id);
      var verb = event.submitter && event.submitter.value === "reject" ? "Reject" : "Accept";
      if (!n) { event.preventDefault(); say("Select suggestions first (x, or the checkboxes)."); window.alert("Select at least one suggestion first."); return; }
      if (!window.confirm(verb + " " + n + " suggestion" + (n === 1 ? "" : "s") + " on " + form.dataset.asset + "?")) { event.preventDefault(); }
    });
  });

  // A sample that cannot be loaded says so instead of "loading…" for ever.
  document.body.addEventListener("htmx:responseError", function (event) {
    var group = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("section.group");
    if (!group) { return; }
    Array.prototype.forEach.call(group.querySelectorAll(".sample"), function (cell) { cell.textContent = "not available"; });
    var note = group.querySelector(".sample-note");
    if (note) { note.textContent = "Sample could not be read (" + event.detail.xhr.status + "); the suggestions can still be decided."; }
  });

  // After a decision the page reloads: continue at the same position.
  var stored = null;
  try { stored = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
  if (stored !== null && rows.length) { select(parseInt(stored, 10) || 0); }
})();

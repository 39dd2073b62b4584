// Sortable and filterable tables, the "every measure" switch, and folded figures opened for printing.
// Plain JavaScript, no library: the page must open anywhere without a network.
(function () {
  "use strict";
  function sortKey(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent.trim(); }
    if (!numeric) { return v; }
    var x = v === "" ? NaN : parseFloat(v);
    return isNaN(x) ? null : x;
  }
  function compare(a, b, numeric) {
    // Missing numbers sort last whichever the direction: the caller flips only the present ones.
    if (numeric) { return a - b; }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortBy(table, th, column) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var numeric = th.classList.contains("num");
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (row, index) {
      return { row: row, index: index, key: sortKey(row.cells[column], numeric) };
    });
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) { return a.index - b.index; }
        return a.key === null ? 1 : -1;
      }
      var c = compare(a.key, b.key, numeric);
      if (!ascending) { c = -c; }
      return c !== 0 ? c : a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (k) { fragment.appendChild(k.row); });
    body.appendChild(fragment);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, column); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, column); }
      });
    });
  });
  function filter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) { return; }
    var words = input.value.toLowerCase().split(/\s+/).filter(function (w) { return w !== ""; });
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) !== -1; });
      rows[i].hidden = !keep;
      if (keep) { shown++; }
    }
    var count = document.getElementById(table.id + "-count");
    if (count) {
      count.textContent = words.length === 0
        ? rows.length + (rows.length === 1 ? " row" : " rows")
        : shown + " of " + rows.length + " rows";
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("input.filter"), function (input) {
    input.addEventListener("input", function () { filter(input); });
    if (input.value !== "") { filter(input); }
  });
  var every = document.getElementById("all-measures");
  if (every) {
    var apply = function () { document.body.classList.toggle("all-measures", every.checked); };
    every.addEventListener("change", apply);
    apply();
  }
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
})();

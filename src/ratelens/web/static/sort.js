// Sortable tables: a click on a column heading orders the rows by it (numbers as numbers:
// $1,234.56, 157%, 1,204), again to reverse. Without JavaScript the table reads as served.
"use strict";
(function () {
  function value(cell) {
    const text = cell.textContent.trim();
    const plain = text.replace(/[$,%\s]/g, "").replace(/\/day$/, "");
    if (plain !== "" && !isNaN(Number(plain))) return { n: Number(plain), t: text };
    return { n: null, t: text.toLowerCase() };
  }

  function compare(a, b) {
    if (a.n !== null && b.n !== null) return a.n - b.n;
    if (a.n !== null) return -1;  // figures before "data not available"
    if (b.n !== null) return 1;
    return a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
  }

  function sortBy(table, column, th) {
    const body = table.tBodies[0];
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    const rows = Array.from(body.rows);
    rows.sort(function (r1, r2) {
      const d = compare(value(r1.cells[column]), value(r2.cells[column]));
      return ascending ? d : -d;
    });
    for (const h of table.tHead.rows[0].cells) h.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    for (const r of rows) body.appendChild(r);
  }

  for (const table of document.querySelectorAll("table.sortable")) {
    if (!table.tHead || !table.tBodies.length) continue;
    Array.from(table.tHead.rows[0].cells).forEach(function (th, column) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      button.addEventListener("click", function () { sortBy(table, column, th); });
      th.textContent = "";
      th.appendChild(button);
    });
  }
})();

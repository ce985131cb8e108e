// On screen, the continuation charts (more rate groups on the same axis) start folded under
// "Show all", and on a phone the filters fold under their summary; both are served open, so
// without JavaScript and in print nothing is hidden.
"use strict";
for (const d of document.querySelectorAll("details.more[open]")) d.open = false;
if (window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
  for (const d of document.querySelectorAll("details.filter-box[open]")) d.open = false;
}

// On screen, the continuation charts (more rate groups on the same axis) start folded under
// "Show all"; served open, so without JavaScript and in print nothing is hidden.
"use strict";
for (const d of document.querySelectorAll("details.more[open]")) d.open = false;

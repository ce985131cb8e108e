// Results as you type: asks /api/v1/codes and redraws the list. Without JavaScript (or when
// the API needs a key) the form still works: the server renders the same results.
"use strict";
(function () {
  const input = document.getElementById("q");
  const list = document.getElementById("results");
  const status = document.getElementById("search-status");
  if (!input || !list || !window.fetch) return;
  let timer = null;
  let latest = 0;

  function link(href, text, cls) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;  // text, never HTML: names from files may hold markup
    if (cls) a.className = cls;
    return a;
  }

  function draw(query, data) {
    list.replaceChildren();
    for (const r of data.results) {
      const li = document.createElement("li");
      const code = encodeURIComponent(r.code);
      li.append(link("/codes/" + code, r.code));
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = r.title || "no editorial content for this code yet: see what the loaded files hold";
      li.append(title, link("/benchmark/" + code, "payer benchmark", "bench"));
      list.append(li);
    }
    const n = data.n_results;
    status.textContent = n + " result" + (n === 1 ? "" : "s") + " for \u201c" + query + "\u201d";
  }

  async function search() {
    const query = input.value.trim();
    const ticket = ++latest;
    if (!query) { list.replaceChildren(); status.textContent = ""; return; }
    try {
      const resp = await fetch("/api/v1/codes?limit=20&q=" + encodeURIComponent(query),
                               { headers: { "Accept": "application/json" } });
      if (!resp.ok) return;  // e.g. 401 with an API key: the form still submits
      const data = await resp.json();
      if (ticket === latest) draw(query, data);
    } catch (e) { /* offline or server gone: keep what is shown */ }
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
})();

// Times come as RFC 3339 (with an offset); older payloads had none and meant UTC.
function parseUtc(text) {
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : text + "Z");
}

// Live auction page: polls the JSON state every 2 s with If-None-Match (an unchanged state is a bodyless 304); the
// countdown follows the server's end (late bids move it); a bid asks for confirmation; older bids load on demand.
(function () {
  "use strict";
  var root = document.getElementById("auction");
  if (!root) { return; }
  var url = root.getAttribute("data-state-url");
  var countdown = root.querySelector("[data-field=countdown]");
  var endsAt = Date.parse(countdown.getAttribute("data-ends-at"));
  var skew = Date.parse(countdown.getAttribute("data-server-time")) - Date.now();  // server minus client
  var status = null;
  // Labels in the page's language, from the template: status names, "Bidder %(code)s" with __CODE__, the outcome.
  var statusLabels = JSON.parse(root.getAttribute("data-status-labels") || "{}");
  var timeFormat = new Intl.DateTimeFormat(root.getAttribute("data-locale") || undefined, {
    timeZone: root.getAttribute("data-time-zone") || undefined, dateStyle: "medium", timeStyle: "medium"});

  // A server time in the zone and medium format the server renders with (Babel/CLDR): CLDR puts a narrow no-break
  // space before AM/PM where Chromium's ICU has a plain one.
  function when(text) {
    if (!text) { return "—"; }
    var parts = timeFormat.formatToParts(new Date(parseUtc(text)));
    return parts.map(function (part, i) {
      var next = parts[i + 1];
      return part.type === "literal" && next && next.type === "dayPeriod" ? part.value.replace(" ", "\u202f")
                                                                          : part.value;
    }).join("");
  }
  function bidder(code) {
    return (root.getAttribute("data-bidder-code-text") || "__CODE__").replace("__CODE__", code);
  }

  function yuan(value) {
    if (value === null || value === undefined) { return "—"; }
    var parts = String(value).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "¥" + parts.join(".");
  }
  function setText(field, text) {
    var el = root.querySelector("[data-field=" + field + "]");
    if (el) { el.textContent = text; }
  }
  function tickClock() {
    var left = Math.max(0, Math.floor((endsAt - (Date.now() + skew)) / 1000));
    if (left === 0 && status === "bidding" && !ended) { poll(); ended = true; }  // fetch the result at the end
    if (status !== null && status !== "bidding") {
      countdown.textContent = status === "announced" ? root.getAttribute("data-not-started-text")
                                                     : root.getAttribute("data-closed-text");
      return;
    }
    if (left === 0) { countdown.textContent = root.getAttribute("data-closed-text"); return; }
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  }
  var ended = false;
  function render(state) {
    status = state.status;
    ended = state.phase === "finished";
    endsAt = parseUtc(state.ends_at);
    skew = parseUtc(state.server_time) - Date.now();
    setText("current_price", yuan(state.current_price));
    setText("next_min_bid", yuan(state.next_min_bid));
    var amount = document.querySelector("[data-test=bid-form] input[name=amount]");
    if (amount && state.next_min_bid !== null && state.next_min_bid !== undefined &&
        !(parseFloat(amount.value) >= parseFloat(state.next_min_bid))) {
      // someone else bid: offer the new minimum (a pre-emption holder may match the price of a leader without one)
      var myCodeNow = root.getAttribute("data-my-code");
      var holder = document.querySelector("[data-test=holder-note]");
      amount.value = holder && !state.leader_preemption && state.leader_code !== myCodeNow && state.current_price
        ? state.current_price : state.next_min_bid;
    }
    setText("ends_at", when(state.ends_at));
    var shown = ended && state.status === "bidding" ? "ended" : state.status;
    var badge = root.querySelector("[data-field=status]");
    if (badge && statusLabels[shown]) {
      badge.textContent = statusLabels[shown];
      badge.setAttribute("data-status", shown);
    }
    setText("bid_count", String(state.bid_count));
    setText("extension_count", String(state.extension_count));
    setText("registered_bidders", String(state.registered_bidders));
    var outcome = root.querySelector("[data-field=outcome]");
    if (outcome) {
      if (state.winner_code) {
        outcome.textContent = root.getAttribute("data-winner-text") + ": " + bidder(state.winner_code) + " · " +
          root.getAttribute("data-sale-price-text") + " " + yuan(state.sale_price);
      } else if (state.unsold) {
        outcome.textContent = root.getAttribute("data-unsold-text");
      }
      outcome.hidden = !(state.winner_code || state.unsold);
    }
    var standing = root.querySelector("[data-field=standing]");
    var myCode = root.getAttribute("data-my-code");
    if (standing && myCode && root.getAttribute("data-i-bid")) {
      standing.textContent = root.getAttribute(state.leader_code === myCode ? "data-leading-text" : "data-outbid-text");
      standing.setAttribute("data-leading", state.leader_code === myCode ? "1" : "0");
      standing.hidden = ended;
    }
    if (ended || state.status !== "bidding") {  // the lot closed: no more bids from this page
      root.querySelectorAll("[data-test=bid-form]").forEach(function (form) { form.hidden = true; });
    }
    if (ended || (state.status !== "bidding" && state.status !== "announced")) {  // the result replaces the buttons
      root.querySelectorAll("[data-test=deposit-form]").forEach(function (form) { form.hidden = true; });
    }
    var minLine = root.querySelector("[data-field=next_min_bid_line]");
    if (minLine) { minLine.hidden = ended; }
    var list = root.querySelector("[data-field=bids]");
    if (list) {
      list.textContent = "";
      state.bids.forEach(function (b) { list.appendChild(bidLine(b)); });
      if (!state.bids.length) {
        var empty = document.createElement("li");
        empty.textContent = root.getAttribute("data-empty-text");
        list.appendChild(empty);
      }
    }
    tickClock();
    root.setAttribute("data-updated", state.server_time);  // the last state shown (tests wait on it)
  }
  function bidLine(b) {
    var li = document.createElement("li");
    li.textContent = bidder(b.code) + " · " + yuan(b.amount) + " · " + when(b.placed_at) +
      (b.preemption ? " · " + root.getAttribute("data-preemption-text") : "");
    return li;
  }
  var etag = null;
  function poll() {
    var headers = {"Accept": "application/json"};
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(url, {headers: headers, credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.status === 304 || !r.ok) { return null; }  // unchanged: keep what is shown
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (state) { if (state) { render(state); } })
      .catch(function () { /* keep the last state; try again on the next poll */ });
  }

  // Older bids, a page at a time, below the latest ones.
  var more = root.querySelector("[data-action=older-bids]");
  if (more) {
    more.addEventListener("click", function () {
      var next = more.getAttribute("data-url");
      if (!next) { return; }
      fetch(next, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (page) {
          if (!page) { return; }
          var older = root.querySelector("[data-field=older_bids]");
          page.bids.forEach(function (b) { older.appendChild(bidLine(b)); });
          more.setAttribute("data-url", page.older_bids || "");
          more.hidden = !page.older_bids;
        });
    });
  }

  // A bid asks for confirmation (the amount, and that it cannot be withdrawn) before it is sent.
  var bidForm = root.querySelector("[data-test=bid-form]");
  var dialog = root.querySelector("[data-test=confirm-bid]");
  if (bidForm && dialog && typeof dialog.showModal === "function") {
    var confirmed = false;
    bidForm.addEventListener("submit", function (event) {
      if (confirmed) { return; }
      event.preventDefault();
      var amount = bidForm.querySelector("input[name=amount]").value;
      dialog.querySelector("[data-field=confirm_text]").textContent =
        root.getAttribute("data-confirm-text").replace("__AMOUNT__", yuan(amount));
      dialog.showModal();
    });
    dialog.querySelector("[data-action=confirm]").addEventListener("click", function () {
      confirmed = true;
      dialog.close();
      bidForm.requestSubmit ? bidForm.requestSubmit() : bidForm.submit();
    });
    dialog.querySelector("[data-action=cancel]").addEventListener("click", function () { dialog.close(); });
  }
  tickClock();
  setInterval(tickClock, 1000);
  setInterval(poll, 2000);
  poll();
}());

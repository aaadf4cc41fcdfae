// Times come as RFC 3339 (with an offset); older payloads had none and meant UTC.
function parseUtc(text) {
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : text + "Z");
}

// Live auction page: polls the JSON state every 2 s; the countdown follows the server's end (late bids move it).
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
    if (status !== null && status !== "bidding") {
      countdown.textContent = status === "announced" ? root.getAttribute("data-not-started-text")
                                                     : root.getAttribute("data-closed-text");
      return;
    }
    if (left === 0) { countdown.textContent = root.getAttribute("data-closed-text"); return; }
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  }
  function render(state) {
    status = state.status;
    endsAt = parseUtc(state.ends_at);
    skew = parseUtc(state.server_time) - Date.now();
    setText("current_price", yuan(state.current_price));
    setText("next_min_bid", yuan(state.next_min_bid));
    var amount = document.querySelector("[data-test=bid-form] input[name=amount]");
    if (amount && state.next_min_bid !== null && state.next_min_bid !== undefined &&
        !(parseFloat(amount.value) >= parseFloat(state.next_min_bid))) {
      amount.value = state.next_min_bid;  // someone else bid: offer the new minimum
    }
    setText("ends_at", when(state.ends_at));
    var badge = root.querySelector("[data-field=status]");
    if (badge && statusLabels[state.status]) {
      badge.textContent = statusLabels[state.status];
      badge.setAttribute("data-status", state.status);
    }
    var outcome = root.querySelector("[data-field=outcome]");
    if (outcome) {
      if (state.winner_code) {
        outcome.textContent = root.getAttribute("data-winner-text") + ": " + bidder(state.winner_code) + " · " +
          root.getAttribute("data-sale-price-text") + " " + yuan(state.sale_price);
      } else if (state.status === "failed") {
        outcome.textContent = root.getAttribute("data-unsold-text");
      }
      outcome.hidden = !(state.winner_code || state.status === "failed");
    }
    if (state.status !== "bidding") {  // the lot closed: no more bids from this page
      root.querySelectorAll("[data-test=bid-form]").forEach(function (form) { form.hidden = true; });
    }
    if (state.status !== "bidding" && state.status !== "announced") {
      root.querySelectorAll("[data-test=deposit-form]").forEach(function (form) { form.hidden = true; });
    }
    var list = root.querySelector("[data-field=bids]");
    if (list) {
      list.textContent = "";
      state.bids.forEach(function (b) {
        var li = document.createElement("li");
        li.textContent = bidder(b.code) + " · " + yuan(b.amount) + " · " + when(b.placed_at);
        list.appendChild(li);
      });
      if (!state.bids.length) {
        var empty = document.createElement("li");
        empty.textContent = root.getAttribute("data-empty-text");
        list.appendChild(empty);
      }
    }
    tickClock();
    root.setAttribute("data-updated", state.server_time);  // the last state shown (tests wait on it)
  }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) { render(state); } })
      .catch(function () { /* keep the last state; try again on the next poll */ });
  }
  tickClock();
  setInterval(tickClock, 1000);
  setInterval(poll, 2000);
  poll();
}());

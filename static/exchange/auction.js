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
    setText("ends_at", state.ends_at.replace("T", " ").slice(0, 19) + " UTC");
    var list = root.querySelector("[data-field=bids]");
    if (list) {
      list.textContent = "";
      state.bids.forEach(function (b) {
        var li = document.createElement("li");
        li.textContent = root.getAttribute("data-bidder-text") + " " + b.code + " · " + yuan(b.amount) + " · " +
          b.placed_at.replace("T", " ").slice(0, 19);
        list.appendChild(li);
      });
      if (!state.bids.length) {
        var empty = document.createElement("li");
        empty.textContent = root.getAttribute("data-empty-text");
        list.appendChild(empty);
      }
    }
    tickClock();
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

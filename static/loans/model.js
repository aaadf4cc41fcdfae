// The loan form's regional model: show only the terms of the chosen model (all are shown without script).
(function () {
  "use strict";
  var select = document.getElementById("loan_model");
  if (!select) { return; }
  var groups = document.querySelectorAll("fieldset[data-model]");
  function show() {
    for (var i = 0; i < groups.length; i++) {
      groups[i].hidden = groups[i].getAttribute("data-model") !== select.value;
    }
  }
  select.addEventListener("change", show);
  show();
}());

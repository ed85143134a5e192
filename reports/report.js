"use strict";
document.querySelectorAll(".filters").forEach(function (f) {
  var table = document.getElementById(f.getAttribute("data-table"));
  if (!table) { return; }
  var shown = f.querySelector("output");
  function apply() {
    var on = {};
    f.querySelectorAll("input").forEach(function (i) { on[i.name + "\u0000" + i.value] = i.checked; });
    var n = 0;
    table.querySelectorAll("tbody.case").forEach(function (tb) {
      var show = on["outcome\u0000" + tb.getAttribute("data-outcome")] === true &&
        on["level\u0000" + tb.getAttribute("data-level")] === true;
      tb.hidden = !show;
      if (show) { n++; }
    });
    if (shown) { shown.textContent = String(n); }
  }
  f.addEventListener("change", apply);
  apply();
});

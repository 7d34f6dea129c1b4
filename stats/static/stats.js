// The dashboard's filters: changing a choice reloads the page with it
// (the form works without JavaScript through its button); a new county
// clears the township.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var clears = sel.getAttribute("data-clears");
      if (clears && form.elements[clears]) { form.elements[clears].value = ""; }
      form.submit();
    });
  });
})();

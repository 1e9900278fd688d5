/* The audience choice on the public article page.
 *
 * Loaded in <head> so the remembered choice applies before the first paint (no flash of the
 * other text). The choice lives in localStorage: never a cookie, so the page stays cacheable.
 * Without JavaScript the chooser stays hidden and both texts are shown, one after the other.
 */
(function () {
  "use strict";
  var KEY = "editorial.audience";
  var CHOICES = ["clinician", "patient"];

  function remembered() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CHOICES.indexOf(value) >= 0 ? value : null;
    } catch (error) {
      return null; // storage blocked: the choice lasts for this page only
    }
  }

  function remember(choice) {
    try {
      window.localStorage.setItem(KEY, choice);
    } catch (error) {
      /* storage blocked: nothing to do */
    }
  }

  var choice = remembered() || "clinician";
  document.documentElement.setAttribute("data-audience", choice);

  function show(chosen) {
    document.documentElement.setAttribute("data-audience", chosen);
    var texts = document.querySelectorAll("[data-audience-text]");
    for (var i = 0; i < texts.length; i++) {
      texts[i].hidden = texts[i].getAttribute("data-audience-text") !== chosen;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chooser = document.querySelector("[data-audience-chooser]");
    if (!chooser) {
      return;
    }
    var radios = chooser.querySelectorAll('input[name="audience"]');
    for (var i = 0; i < radios.length; i++) {
      radios[i].checked = radios[i].value === choice;
    }
    chooser.hidden = false;
    show(choice);
    chooser.addEventListener("change", function (event) {
      if (event.target && event.target.name === "audience") {
        choice = event.target.value;
        remember(choice);
        show(choice);
      }
    });
  });
})();

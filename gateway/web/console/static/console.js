// The console's only script: live parts and the reply's part counter. Pages work without it.
"use strict";

// --- live: re-read this page's live parts when the event stream says something changed ----
(function () {
  var region = document.getElementById("live-region");
  if (!region || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var parts = (region.getAttribute("data-live-parts") || "").split(" ").filter(Boolean);
  var pending = null;
  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          if (!now || !next) return;
          if (id === "tickets") markNew(now, next);
          now.replaceWith(document.importNode(next, true));
        });
        document.dispatchEvent(new CustomEvent("console:refreshed"));
      })
      .catch(function () {});
  }
  function markNew(now, next) {
    var seen = {};
    now.querySelectorAll("tr[data-ref]").forEach(function (row) { seen[row.getAttribute("data-ref")] = true; });
    next.querySelectorAll("tr[data-ref]").forEach(function (row) {
      if (!seen[row.getAttribute("data-ref")]) row.classList.add("fresh");
    });
  }
  var source = region.getAttribute("data-live");
  var stream = new EventSource(source);
  function changed() { if (pending === null) pending = window.setTimeout(refresh, 150); }
  // the types the page asked the stream for (?types=a,b), else every type a desk page follows
  var asked = /[?&]types=([^&]*)/.exec(source);
  var types = asked ? decodeURIComponent(asked[1]).split(",") :
    ["ticket.opened", "ticket.updated", "message.received", "message.sent", "message.delivered", "message.failed"];
  types.forEach(function (type) { stream.addEventListener(type, changed); });
  // figures that change without an event (signal, counts, progress): re-read every N seconds
  var poll = parseFloat(region.getAttribute("data-live-poll") || "0");
  if (poll > 0) window.setInterval(changed, poll * 1000);
  stream.addEventListener("open", function () {
    var note = document.getElementById("live-note");
    if (note) note.hidden = false;
  });
  window.addEventListener("pagehide", function () { stream.close(); });
})();

// --- the reply's SMS part count: GSM 7-bit (160, 153 a part) or UCS-2 (70, 67 a part) -----
(function () {
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  var DIGITS = { fa: "۰۱۲۳۴۵۶۷۸۹", ar: "٠١٢٣٤٥٦٧٨٩" };
  function count(text) {
    var septets = 0, gsm = true;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (GSM.indexOf(c) >= 0) septets += 1;
      else if (EXTENDED.indexOf(c) >= 0) septets += 2;
      else { gsm = false; break; }
    }
    if (gsm) return { parts: septets <= 160 ? (septets ? 1 : 0) : Math.ceil(septets / 153), chars: septets };
    var units = text.length;  // UTF-16 code units, as UCS-2 counts them
    return { parts: units <= 70 ? 1 : Math.ceil(units / 67), chars: units };
  }
  function digits(n, lang) {
    var set = DIGITS[lang];
    return set ? String(n).replace(/[0-9]/g, function (d) { return set.charAt(+d); }) : String(n);
  }
  document.querySelectorAll("textarea[data-parts-output]").forEach(function (box) {
    var out = document.getElementById(box.getAttribute("data-parts-output"));
    var max = parseInt(box.getAttribute("data-max-parts") || "0", 10);
    var lang = box.getAttribute("data-lang");
    function show() {
      var got = count(box.value.trim());
      out.textContent = out.getAttribute("data-template")
        .replace("{parts}", digits(got.parts, lang)).replace("{chars}", digits(got.chars, lang));
      out.classList.toggle("over", max > 0 && got.parts > max);
    }
    box.addEventListener("input", show);
    show();
  });
  document.querySelectorAll("select[data-canned-target]").forEach(function (select) {
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex], box = document.getElementById(select.getAttribute("data-canned-target"));
      if (!box || !option.getAttribute("data-text")) return;
      box.value = option.getAttribute("data-text");
      box.dispatchEvent(new Event("input"));
      box.focus();
    });
  });
})();

// --- a select that shows the form again when chosen (its button does it without JavaScript) --
(function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var button = document.getElementById(select.getAttribute("data-autosubmit"));
    if (!button) return;
    select.addEventListener("change", function () { button.click(); });
  });
})();

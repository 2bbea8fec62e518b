// Optional proof-of-work (haven/portal/pow.py). The form works the same without this script;
// with it, a request can get through when the portal is busy, and a receipt check when many
// wrong receipts starting with the same digits were tried. No data leaves the page.
(function () {
  "use strict";
  var form = document.querySelector("form[data-pow-bits]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) return;
  var bits = parseInt(form.getAttribute("data-pow-bits"), 10);
  var token = form.querySelector("input[name=token]");
  var answer = form.querySelector("input[name=pow]");
  if (!(bits > 0) || !token || !answer) return;
  var encoder = new TextEncoder();
  var working = false;

  function zeroBits(bytes) {
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      for (var mask = 128; mask > 0 && !(bytes[i] & mask); mask >>= 1) count++;
      return count;
    }
    return count;
  }

  function solve(done) {
    var prefix = "haven-pow:" + token.value + ":";
    var nonce = 0;
    function batch() {
      var work = [];
      for (var i = 0; i < 256; i++) {
        work.push(crypto.subtle.digest("SHA-256", encoder.encode(prefix + (nonce + i))));
      }
      Promise.all(work).then(function (hashes) {
        for (var i = 0; i < hashes.length; i++) {
          if (zeroBits(new Uint8Array(hashes[i])) >= bits) { done(String(nonce + i)); return; }
        }
        nonce += 256;
        batch();
      }, function () { done(""); });
    }
    batch();
  }

  form.addEventListener("submit", function (event) {
    if (answer.value || working) return;
    event.preventDefault();
    working = true;
    solve(function (nonce) {
      answer.value = nonce;
      form.submit(); // the Send button carries no value, so nothing is lost by not passing it
    });
  });
})();

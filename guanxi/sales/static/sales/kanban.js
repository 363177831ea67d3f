// Drag and drop on the opportunity board: a drop POSTs the move; a refused move puts the
// card back and shows why; a drop on a won or lost column asks for the reason first.
(function () {
  "use strict";
  var board = document.getElementById("kanban");
  if (!board || board.dataset.canMove !== "1" || typeof Sortable === "undefined") return;
  var status = document.getElementById("board-status");
  var dialog = document.getElementById("close-dialog");
  var csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"]) || "";

  function say(text, isError) {
    status.textContent = text || "";
    status.className = "small" + (isError ? " error" : "");
  }

  function putBack(evt) {
    var ref = evt.from.children[evt.oldIndex] || null;
    evt.from.insertBefore(evt.item, ref);
  }

  function askReason() {
    return new Promise(function (resolve) {
      var form = document.getElementById("close-form");
      form.reset();
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "ok") return resolve(null);
        resolve({ win_loss_reason: form.elements.win_loss_reason.value, note: form.elements.note.value });
      });
      dialog.showModal();
    });
  }

  function send(evt, extra) {
    var card = evt.item;
    var body = new URLSearchParams({ stage: evt.to.dataset.stage });
    Object.keys(extra || {}).forEach(function (k) { body.append(k, extra[k]); });
    card.classList.add("is-saving");
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    }).then(function (response) {
      card.classList.remove("is-saving");
      if (response.ok) {
        say("");
        if (evt.to.dataset.closing) card.remove();
        return;
      }
      return response.text().then(function (text) { putBack(evt); say(text || response.statusText, true); });
    }).catch(function () { card.classList.remove("is-saving"); putBack(evt); say(board.dataset.errorText || "Network error", true); });
  }

  board.querySelectorAll(".kanban-cards").forEach(function (list) {
    Sortable.create(list, {
      group: "opportunities",
      animation: 150,
      sort: false,
      onAdd: function (evt) {
        if (evt.to.dataset.closing) {
          askReason().then(function (extra) { if (extra === null) putBack(evt); else send(evt, extra); });
        } else {
          send(evt, {});
        }
      },
    });
  });
})();

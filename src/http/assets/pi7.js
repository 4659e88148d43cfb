// pi7's pages: the frontend form, the backend buttons, and keeping the
// parts marked data-live up to date from the server's event stream. Every
// piece of HTML comes rendered (and escaped) from the server.
(function () {
  "use strict";

  // A server started with --token takes writes only with it. The page asks
  // once, when a write is refused for the want of it, and keeps it for this
  // tab only (sessionStorage): never in the page's HTML, which anyone may read.
  var TOKEN = "pi7-token";

  function send(url, body) {
    var headers = { "Content-Type": "application/json" };
    var token = window.sessionStorage.getItem(TOKEN);
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body) });
  }

  function post(url, body) {
    return send(url, body).then(function (response) {
      if (response.status !== 401) return response;
      var token = window.prompt("This server takes changes only with its token (pi7 serve --token):");
      if (!token) return response;
      window.sessionStorage.setItem(TOKEN, token.trim());
      return send(url, body);
    }).then(function (response) {
      return response.json().then(function (json) {
        if (response.status === 401) window.sessionStorage.removeItem(TOKEN);
        if (!response.ok) throw new Error(json.error || response.statusText);
        return json;
      });
    });
  }

  var refreshing = null;
  function refresh() {
    if (refreshing) return refreshing;
    var parts = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
    refreshing = Promise.all(parts.map(function (part) {
      return fetch(part.getAttribute("data-live")).then(function (r) {
        return r.ok ? r.text().then(function (html) { part.innerHTML = html; }) : null;
      });
    })).catch(function () {}).then(function () { refreshing = null; });
    return refreshing;
  }

  if (document.querySelector("[data-live]") && window.EventSource) {
    // From the seq the page was rendered at: what was written while it
    // loaded still reaches it. A reconnecting stream resumes by itself.
    var since = document.querySelector("[data-since]");
    var stream = new EventSource("/api/v1/events/stream" +
      (since ? "?since=" + encodeURIComponent(since.getAttribute("data-since")) : ""));
    var live = document.getElementById("live");
    var queued = false;
    stream.onopen = function () { live.classList.add("on"); };
    stream.onerror = function () { live.classList.remove("on"); };
    stream.onmessage = function () {
      if (queued) return;
      queued = true;
      setTimeout(function () { queued = false; refresh(); }, 50);
    };
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var confirm = target.closest("[data-confirm]");
    var reject = target.closest("[data-reject]");
    if (confirm || reject) {
      var button = confirm || reject;
      button.disabled = true;
      var done = confirm
        // The original's page: the reservation id as a JSON string.
        ? post("/api/store/reservation/confirmed", confirm.getAttribute("data-confirm"))
        : post("/api/v1/reservations/reject", { ids: [reject.getAttribute("data-reject")] });
      done.catch(function (e) { window.alert(e.message); }).then(refresh);
      return;
    }
    if (target.id === "add-line") {
      var body = document.querySelector("#lines tbody");
      var next = body.querySelectorAll("tr").length + 1;
      var row = document.createElement("tr");
      row.innerHTML = '<td><input class="line-id" type="number"></td><td><input class="line-reserved"></td>' +
        '<td><button type="button" class="remove-line">remove</button></td>';
      row.querySelector(".line-id").value = String(next);
      body.appendChild(row);
      return;
    }
    if (target.classList.contains("remove-line")) {
      target.closest("tr").remove();
    }
  });

  var form = document.getElementById("order-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("error");
      error.textContent = "";
      var pasted = document.getElementById("order-json").value.trim();
      var text = pasted;
      if (!text) {
        var lines = Array.prototype.map.call(document.querySelectorAll("#lines tbody tr"), function (row) {
          var id = row.querySelector(".line-id").value.trim();
          return { id: id === "" ? null : Number(id), reserved: row.querySelector(".line-reserved").value };
        });
        text = JSON.stringify({ customer: document.getElementById("customer").value, reservations: lines });
      }
      // As the original's page sent it: a JSON string holding the order's JSON.
      post("/api/web/salesorder/request", text).then(function () {
        if (document.getElementById("reservations")) {
          refresh();
        } else {
          window.location.href = "/backend.html";
        }
      }, function (e) {
        error.textContent = e.message;
      });
    });
  }
})();

// FlowFabric dashboard: confirmations for actions and live updates over
// Server-Sent Events. Live data is written with textContent only.
"use strict";

(function () {
  // --- Confirmations -------------------------------------------------
  // A form with data-confirm asks in a <dialog> before it is sent.
  function setupConfirm() {
    var dialog = document.getElementById("confirm");
    var text = document.getElementById("confirm-text");
    var pending = null;
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!(form instanceof HTMLFormElement)) return;
      if (form.dataset.confirm && form.dataset.confirmed !== "1" && dialog && dialog.showModal) {
        ev.preventDefault();
        pending = form;
        text.textContent = form.dataset.confirm;
        dialog.returnValue = "";
        dialog.showModal();
        document.getElementById("confirm-ok").focus();
        return;
      }
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
    if (!dialog) return;
    dialog.addEventListener("close", function () {
      var form = pending;
      pending = null;
      if (form && dialog.returnValue === "ok") {
        form.dataset.confirmed = "1";
        form.requestSubmit();
      }
    });
  }

  // --- Live updates --------------------------------------------------
  function setText(root, key, value) {
    root.querySelectorAll('[data-k="' + key + '"]').forEach(function (el) {
      if (el.textContent !== String(value)) el.textContent = String(value);
    });
  }

  function setState(root, key, state) {
    root.querySelectorAll('[data-k="' + key + '"]').forEach(function (el) {
      var badge = document.createElement("span");
      badge.className = "state st-" + state;
      badge.textContent = state;
      el.replaceChildren(badge);
    });
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }

  function trim(tbody, max) {
    while (tbody.rows.length > max) tbody.deleteRow(0);
  }

  function keepBottom(box, fn) {
    var atBottom = !box || box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    fn();
    if (box && atBottom) box.scrollTop = box.scrollHeight;
  }

  var handlers = {
    overview: function (root, d) {
      ["throughput", "failure_pct", "rate_span", "leadership"].forEach(function (k) {
        root.querySelectorAll('.tiles [data-k="' + k + '"], .hint [data-k="' + k + '"]').forEach(function (el) {
          el.textContent = d[k];
        });
      });
      (d.lanes || []).forEach(function (lane) {
        var row = root.querySelector('tr[data-lane="' + CSS.escape(lane.name) + '"]');
        if (!row) return;
        row.querySelectorAll("td[data-state]").forEach(function (td) {
          td.textContent = String((lane.counts || {})[td.dataset.state] || 0);
        });
        setText(row, "total", lane.total);
        setText(row, "throughput", lane.throughput);
        setText(row, "failure_pct", lane.failure_pct);
      });
    },
    state: function (root, d) {
      setState(root, "public_state", d.public_state);
      Object.keys(d).forEach(function (k) {
        if (k !== "public_state") setText(root, k, d[k]);
      });
    },
    frames: function (root, frames, live) {
      var tbody = document.getElementById("frames");
      if (!tbody) return;
      keepBottom(tbody.closest(".stream-box"), function () {
        frames.forEach(function (f) {
          var tr = document.createElement("tr");
          var pre = document.createElement("pre");
          pre.className = "payload inline";
          pre.textContent = f.text;
          var td = document.createElement("td");
          td.appendChild(pre);
          tr.append(cell(String(f.id), "num"), cell(f.type), cell(f.at), td);
          tbody.appendChild(tr);
          live.param("after", f.id);
        });
        trim(tbody, 1000);
      });
    },
    closed: function (root, d, live) {
      setText(root, "stream_state", "closed: " + d.reason + " at " + d.at);
      live.stop();
    },
    attempt: function (root, d) {
      setText(root, "stream_state", "Attempt " + d.attempt + " started: reload the page to follow its stream.");
    },
    approvals: function (root, d) {
      if (d.fingerprint === root.dataset.fingerprint) return;
      var note = root.querySelector('[data-k="approvals_changed"]');
      if (!note) return;
      setText(root, "approvals_count", String(d.count));
      note.hidden = false;
    },
    summary: function (root, d) {
      var el = document.getElementById("summary");
      if (el) el.textContent = d.text;
    },
    events: function (root, evs, live) {
      var tbody = document.getElementById("event-rows");
      if (!tbody) return;
      keepBottom(tbody.closest(".scroll"), function () {
        evs.forEach(function (e) {
          var tr = document.createElement("tr");
          var badge = document.createElement("span");
          badge.className = "state st-ev-" + e.type;
          badge.textContent = e.type;
          var type = document.createElement("td");
          type.appendChild(badge);
          var exec = cell("", "mono");
          if (e.execution) {
            var a = document.createElement("a");
            a.href = "/ui/executions/" + encodeURIComponent(e.execution);
            a.textContent = e.execution;
            exec.appendChild(a);
          }
          var code = document.createElement("code");
          code.className = "clip";
          code.textContent = e.data;
          var data = document.createElement("td");
          data.appendChild(code);
          tr.append(cell(e.at), type, cell(e.action), cell(e.lane), exec, data);
          tbody.appendChild(tr);
          live.param("after", e.cursor);
        });
        trim(tbody, 500);
      });
    },
    failure: function (root, d, live) {
      var slot = document.querySelector(".flash-slot");
      if (slot) {
        var p = document.createElement("p");
        p.className = "flash err";
        p.setAttribute("role", "alert");
        p.textContent = "Live updates stopped: " + d.message;
        slot.replaceChildren(p);
      }
      live.stop();
    },
  };

  // Live follows one data-live element's feed, reconnecting (from where
  // it got to) when the connection drops.
  function Live(root) {
    this.root = root;
    this.url = new URL(root.dataset.live, window.location.href);
    this.source = null;
    this.stopped = false;
  }
  Live.prototype.param = function (k, v) { this.url.searchParams.set(k, String(v)); };
  Live.prototype.stop = function () {
    this.stopped = true;
    if (this.source) this.source.close();
  };
  Live.prototype.start = function () {
    var self = this;
    var src = new EventSource(this.url.toString());
    this.source = src;
    Object.keys(handlers).forEach(function (name) {
      src.addEventListener(name, function (ev) {
        handlers[name](self.root, JSON.parse(ev.data), self);
      });
    });
    src.onerror = function () {
      src.close();
      if (!self.stopped) window.setTimeout(function () { self.start(); }, 3000);
    };
  };

  function setupLive() {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      new Live(el).start();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupConfirm();
    setupLive();
  });
})();

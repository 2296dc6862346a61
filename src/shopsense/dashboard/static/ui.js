/* shopsense dashboard: charts from the page's tables, and tiles kept live by polling the
   page's JSON. Figures are formatted as the server formats them (web_view.py). */
(function () {
  "use strict";

  function fixed(value, places) {
    // Halves away from zero on the exact double, as the server's Decimal ROUND_HALF_UP.
    var text = Math.abs(value).toFixed(places);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    text = parts.join(".");
    var zero = /^[0.,]*$/.test(text);
    return (value < 0 && !zero ? "-" : "") + text;
  }

  var ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?Z$/;

  function fmt(value, kind) {
    if (value === null || value === undefined) return "\u2014";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value !== "number") {
      var m = ISO.exec(String(value));
      return m ? m[1] + " " + m[2] + " UTC" : String(value);
    }
    if (kind === "count") return fixed(value, 0);
    if (kind === "fine") return fixed(value, 4);
    if (kind === "percent") return fixed(100 * value, 1) + " %";
    return fixed(value, 2);
  }

  function fmtChange(change) {
    if (typeof change !== "number") return "\u2014";
    var text = fixed(100 * change, 1);
    return (text.charAt(0) !== "-" && text !== "0.0" ? "+" + text : text) + " %";
  }

  function lookup(data, path) {
    var parts = path.split(".");
    for (var i = 0; i < parts.length; i++) {
      if (data === null || data === undefined) return undefined;
      data = data[parts[i]];
    }
    return data;
  }

  function trend(change) {
    if (typeof change !== "number" || change === 0) return "flat";
    return change > 0 ? "up" : "down";
  }

  function shortLabel(label) {
    var m = ISO.exec(String(label));
    if (m) return m[2] === "00:00" ? m[1].slice(5) : m[2];
    if (/^\d{4}-\d{2}-\d{2}$/.test(String(label))) return String(label).slice(5);
    return label;
  }

  var PALETTE = ["#4f46e5", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6"];
  var charts = {};

  function drawCharts() {
    if (typeof window.Chart === "undefined") return;
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#646b82";
    var canvases = document.querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var line = spec.type === "line";
      var datasets = spec.datasets.map(function (d, i) {
        var color = PALETTE[i % PALETTE.length];
        return {
          label: d.label,
          data: d.data,
          borderColor: color,
          backgroundColor: line ? color + "22" : color + "cc",
          borderWidth: line ? 2 : 0,
          borderRadius: line ? 0 : 4,
          fill: line,
          tension: 0.25,
          pointRadius: line && d.data.length > 40 ? 0 : 2
        };
      });
      var horizontal = !!spec.horizontal;
      if (spec.type === "doughnut") {
        datasets = spec.datasets.map(function (d) {
          return {
            label: d.label, data: d.data, borderWidth: 2, borderColor: "#fff",
            backgroundColor: d.data.map(function (_, i) { return PALETTE[i % PALETTE.length]; })
          };
        });
      }
      var valueAxis = {
        beginAtZero: true,
        grid: { color: "#eef0f5" },
        ticks: {
          maxTicksLimit: 6,
          callback: function (v) {
            if (spec.kind === "percent") return fixed(100 * v, 0) + " %";
            return fixed(v, Math.abs(v) >= 10 || spec.kind !== "number" ? 0 : 2);
          }
        }
      };
      var labelAxis = {
        grid: { display: false },
        ticks: {
          autoSkip: true, maxRotation: 0, maxTicksLimit: horizontal ? 12 : 10,
          callback: function (v) {
            var text = String(shortLabel(this.getLabelForValue(v)));
            if (text.length > 22 && text.indexOf("/") >= 0) text = text.split("/").pop();
            return text.length > 22 ? text.slice(0, 21) + "\u2026" : text;
          }
        }
      };
      charts[canvas.id] = new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          indexAxis: horizontal ? "y" : "x",
          plugins: {
            legend: { display: datasets.length > 1 || spec.type === "doughnut", position: spec.type === "doughnut" ? "right" : "bottom" },
            tooltip: {
              callbacks: {
                title: function (items) { return items.length ? String(items[0].label) : ""; },
                label: function (ctx) {
                  return ctx.dataset.label + ": " + fmt(ctx.raw, spec.kind);
                }
              }
            }
          },
          scales: spec.type === "doughnut" ? {} : horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
        }
      });
      charts[canvas.id].$spec = spec;
    });
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function updateTiles(data) {
    var tiles = document.querySelectorAll("[data-kpi]");
    Array.prototype.forEach.call(tiles, function (tile) {
      var kpi = lookup(data, tile.getAttribute("data-kpi"));
      if (!kpi || typeof kpi !== "object") return;
      var kind = tile.getAttribute("data-kind");
      var valueEl = tile.querySelector('[data-field="value"]');
      var before = valueEl ? valueEl.textContent : null;
      setText(valueEl, fmt(kpi.value, kind));
      setText(tile.querySelector('[data-field="previous"]'), fmt(kpi.previous, kind));
      var changeEl = tile.querySelector('[data-field="change"]');
      setText(changeEl, fmtChange(kpi.change));
      if (changeEl) changeEl.className = "change " + trend(kpi.change);
      if (valueEl && before !== valueEl.textContent) {
        tile.classList.remove("flash");
        void tile.offsetWidth;
        tile.classList.add("flash");
      }
    });
    var facts = document.querySelectorAll("[data-fact]");
    Array.prototype.forEach.call(facts, function (fact) {
      var value = lookup(data, fact.getAttribute("data-fact"));
      if (value === undefined) return;
      setText(fact.querySelector('[data-field="value"]'), fmt(value, fact.getAttribute("data-kind")));
    });
    Object.keys(charts).forEach(function (id) {
      var chart = charts[id];
      var spec = chart.$spec;
      if (!spec.live) return;
      var rows = lookup(data, spec.source);
      if (!Array.isArray(rows)) return;
      chart.data.labels = rows.map(function (r) { return r[spec.label_column]; });
      chart.data.datasets.forEach(function (d, i) {
        d.data = rows.map(function (r) { return r[spec.value_columns[i]]; });
      });
      chart.update("none");
    });
  }

  function poll() {
    var body = document.body;
    var url = body.getAttribute("data-live");
    if (!url) return;
    var interval = parseInt(body.getAttribute("data-interval"), 10) || 5000;
    var status = document.querySelector("[data-live-status]");
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 401) {
            window.location.assign("/ui/login?next=" + encodeURIComponent(location.pathname + location.search));
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (!data) return;
          updateTiles(data);
          body.setAttribute("data-updated", String(Date.now()));
          if (status) {
            status.classList.remove("stale");
            status.title = "Updated " + new Date().toLocaleTimeString();
          }
        })
        .catch(function () { if (status) status.classList.add("stale"); })
        .then(function () { busy = false; });
    }
    setInterval(tick, interval);
  }

  window.shopsense = { fmt: fmt, fmtChange: fmtChange };
  drawCharts();
  poll();
})();

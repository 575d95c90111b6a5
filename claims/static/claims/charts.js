/* Charts of the agents' dashboard and of the operators' mailbox page (Chart.js, vendored).
 *
 * Nothing inline (CSP script-src 'self'): every <canvas data-chart="…" data-source="…"> names the
 * json_script element holding its figures; the same figures are in the table beside the chart.
 */
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var BLUE = "#000091", LIGHT_BLUE = "#6a6af4", RED = "#e1000f", GREEN = "#18753c", ORANGE = "#b34000", GREY = "#666666";
  var numberFormat = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 2 });
  var euroFormat = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });

  Chart.defaults.font.family = "Marianne, Arial, sans-serif";
  Chart.defaults.animation = false;

  // Lines drawn across a chart: options.plugins.marks = {horizontal: [{value, label, color, axis}],
  // vertical: [{index, label, color}]} (deadlines, budget, median, threshold).
  var marks = {
    id: "marks",
    afterDatasetsDraw: function (chart, args, options) {
      var ctx = chart.ctx, area = chart.chartArea;
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      ctx.font = "12px Marianne, Arial, sans-serif";
      (options.horizontal || []).forEach(function (mark) {
        var scale = chart.scales[mark.axis || "y"];
        if (!scale || mark.value === null || mark.value === undefined) return;
        var y = scale.getPixelForValue(mark.value);
        ctx.strokeStyle = ctx.fillStyle = mark.color || RED;
        ctx.beginPath(); ctx.moveTo(area.left, y); ctx.lineTo(area.right, y); ctx.stroke();
        ctx.fillText(mark.label, area.left + 4, y - 4);
      });
      (options.vertical || []).forEach(function (mark, n) {
        var x = chart.scales.x.getPixelForValue(mark.index);
        ctx.strokeStyle = ctx.fillStyle = mark.color || RED;
        ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
        ctx.fillText(mark.label, x + 4, area.top + 12 + 14 * n);
      });
      ctx.restore();
    }
  };
  Chart.register(marks);

  function data(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-source"));
    return source ? JSON.parse(source.textContent) : null;
  }

  function funnel(figures) {
    return {
      type: "bar",
      data: {
        labels: figures.labels,
        datasets: [
          { label: "Avances", data: figures.advance, backgroundColor: BLUE },
          { label: "Soldes", data: figures.balance, backgroundColor: LIGHT_BLUE }
        ]
      },
      options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } }
    };
  }

  function amounts(figures) {
    var top = Math.max.apply(null, figures.values.concat([figures.budget || 0]));
    return {
      type: "bar",
      data: { labels: figures.labels, datasets: [{ label: "Montant HT", data: figures.values, backgroundColor: [BLUE, LIGHT_BLUE, GREEN, ORANGE] }] },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (item) { return euroFormat.format(item.raw); } } },
          marks: { horizontal: figures.budget === null ? [] : [{ value: figures.budget, label: "Budget " + euroFormat.format(figures.budget), color: RED }] }
        },
        scales: { y: { beginAtZero: true, suggestedMax: top * 1.1 } }
      }
    };
  }

  function weeks(figures) {
    var vertical = figures.marks.map(function (mark) {
      return { index: figures.labels.indexOf(mark.week), label: mark.label, color: RED };
    }).filter(function (mark) { return mark.index >= 0; });
    var labels = figures.labels.map(function (day) { return day.split("-").reverse().join("/"); });
    return {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Avances", data: figures.advance, backgroundColor: BLUE },
          { label: "Soldes", data: figures.balance, backgroundColor: LIGHT_BLUE }
        ]
      },
      options: { plugins: { marks: { vertical: vertical } }, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    };
  }

  function reviews(figures) {
    return {
      type: "bar",
      data: { labels: figures.labels, datasets: [{ label: "Jours", data: figures.values, backgroundColor: BLUE }] },
      options: {
        plugins: {
          legend: { display: false },
          marks: { horizontal: figures.median === null ? [] : [{ value: figures.median, label: "Médiane " + numberFormat.format(figures.median) + " j", color: RED }] }
        },
        scales: { y: { beginAtZero: true, title: { display: true, text: "jours" } } }
      }
    };
  }

  function growth(figures) {
    var points = figures.points;
    return {
      type: "scatter",
      data: {
        datasets: [{
          label: "Opérateurs",
          data: points.map(function (p) { return { x: p.x, y: p.y }; }),
          pointBackgroundColor: points.map(function (p) { return p.flagged ? RED : BLUE; }),
          pointRadius: points.map(function (p) { return p.flagged ? 7 : 4; })
        }]
      },
      options: {
        onClick: function (event, elements) {
          if (elements.length && points[elements[0].index].url) {
            window.location.href = points[elements[0].index].url;
          }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (item) {
            var p = points[item.dataIndex];
            return p.label + " : ×" + numberFormat.format(p.y) + (p.flagged ? " (anomalie)" : "");
          } } },
          marks: { horizontal: [
            { value: figures.overall, label: "Ensemble ×" + numberFormat.format(figures.overall || 0), color: GREEN },
            { value: figures.threshold, label: "Seuil ×" + numberFormat.format(figures.threshold || 0), color: RED }
          ] }
        },
        scales: {
          x: { title: { display: true, text: "BAL à la référence" }, beginAtZero: true },
          y: { title: { display: true, text: "croissance (×)" }, beginAtZero: true,
               suggestedMax: Math.max((figures.threshold || 0) * 1.2, 1) }
        }
      }
    };
  }

  function mailboxes(figures) {
    var colours = { APP: GREEN, ORG: LIGHT_BLUE, PER: BLUE };
    var datasets = figures.types.map(function (kind) {
      return { type: "line", label: "BAL " + kind, data: figures.counts[kind], borderColor: colours[kind], backgroundColor: colours[kind], yAxisID: "y", spanGaps: true };
    });
    datasets.push({ type: "bar", label: "Financement HT", data: figures.funding, backgroundColor: "rgba(179, 64, 0, 0.35)", yAxisID: "money" });
    return {
      type: "bar",
      data: { labels: figures.labels.map(function (day) { return day.split("-").reverse().join("/"); }), datasets: datasets },
      options: {
        plugins: {
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + " : " + (item.dataset.yAxisID === "money" ? euroFormat.format(item.raw) : numberFormat.format(item.raw));
          } } },
          marks: { horizontal: figures.cap === null ? [] : [{ value: figures.cap, axis: "money", label: "Plafond " + euroFormat.format(figures.cap), color: RED }] }
        },
        scales: {
          y: { beginAtZero: true, position: "left", title: { display: true, text: "BAL" } },
          money: { beginAtZero: true, position: "right", suggestedMax: (figures.cap || 0) * 1.1, grid: { drawOnChartArea: false }, title: { display: true, text: "€ HT" } }
        }
      }
    };
  }

  var builders = { funnel: funnel, amounts: amounts, weeks: weeks, reviews: reviews, growth: growth, mailboxes: mailboxes };

  function draw() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var build = builders[canvas.getAttribute("data-chart")], figures = data(canvas);
      if (build && figures) {
        new Chart(canvas, build(figures));
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

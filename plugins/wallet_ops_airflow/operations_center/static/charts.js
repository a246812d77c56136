// Draws the Charts page from the JSON the server embedded (#chart-data) with Chart.js.
(function () {
  "use strict";
  const palette = ["#0e7490", "#b45309", "#b91c1c", "#15803d", "#7c3aed", "#64748b"];

  function datasets(series, kind) {
    return Object.entries(series).map(([name, values], i) => ({
      label: name,
      data: values.map(Number),
      borderColor: palette[i % palette.length],
      backgroundColor: palette[i % palette.length],
      fill: false,
      tension: 0.2,
      type: kind,
    }));
  }

  function draw(id, kind, labels, series, stacked, logarithmic) {
    const canvas = document.getElementById(id);
    const y = logarithmic ? { type: "logarithmic" } : { stacked: stacked, beginAtZero: true };
    const chart = new Chart(canvas, {
      type: kind,
      data: { labels: labels, datasets: datasets(series, kind) },
      options: {
        animation: false,
        responsive: true,
        scales: { x: { stacked: stacked }, y: y },
      },
    });
    canvas.dataset.drawn = String(chart.data.datasets.length);
  }

  function drawAll() {
    const data = JSON.parse(document.getElementById("chart-data").textContent);
    draw("chart-readiness", "line", data.readiness.labels, data.readiness.counted, false);
    // currencies differ by orders of magnitude (IDR and USD): a log axis shows them all
    draw("chart-settled", "bar", data.days, data.settled, false, true);
    draw("chart-payouts", "bar", data.days, data.payouts, true);
    draw("chart-open", "line", data.days, {
      "open breaks": data.open.breaks,
      "open high/critical alerts": data.open.alerts_high,
      "open alerts": data.open.alerts_all,
    }, false);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
})();

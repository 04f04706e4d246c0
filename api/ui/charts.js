// The connector detail plots: one Chart.js line chart per series of
// GET /connectors/{name}/metrics/history, with a time axis (x = Unix ms, labelled HH:MM:SS).
'use strict';

const SluiceCharts = (() => {
  const SERIES = [
    ['chart-events', 'events_per_s', '#1f6feb'],
    ['chart-rows', 'rows_per_s', '#8250df'],
    ['chart-lag', 'lag_ms', '#bf3989'],
    ['chart-queue', 'queue_events', '#1a7f37'],
    // PostgreSQL sources only (null elsewhere): its figure shows once a sample has a value.
    ['chart-retained', 'slot_retained_bytes', '#9a6700', 'figure-retained'],
  ];
  const charts = new Map();

  function timeLabel(ms) {
    const d = new Date(ms);
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function make(canvas, color) {
    return new Chart(canvas, {
      type: 'line',
      data: { datasets: [{ data: [], borderColor: color, backgroundColor: color + '33',
                           fill: true, pointRadius: 2, borderWidth: 1.5, tension: 0.2 }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        normalized: true,
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { title: (items) => timeLabel(items[0].parsed.x) } } },
        scales: {
          x: { type: 'linear', ticks: { callback: (v) => timeLabel(v), maxTicksLimit: 4,
                                        maxRotation: 0 } },
          y: { beginAtZero: true },
        },
      },
    });
  }

  // Shows `history` (the JSON of the history route) in the charts; null values (a series the
  // connector does not have) are left out.
  function show(history) {
    const t = history.series.unix_ms;
    for (const [id, key, color, figure] of SERIES) {
      const values = history.series[key] || [];
      const data = [];
      t.forEach((x, i) => { if (values[i] !== null && values[i] !== undefined) data.push({ x, y: values[i] }); });
      if (figure) document.getElementById(figure).classList.toggle('hidden', data.length === 0);
      let chart = charts.get(id);
      if (!chart) {
        if (!data.length) continue;  // a chart in a hidden figure would get no size
        chart = make(document.getElementById(id), color);
        charts.set(id, chart);
      }
      chart.data.datasets[0].data = data;
      chart.update('none');
    }
  }

  // Points per chart (the browser tests read it).
  function points() {
    const out = {};
    for (const [id, chart] of charts) out[id] = chart.data.datasets[0].data.length;
    return out;
  }

  return { show, points };
})();
window.SluiceCharts = SluiceCharts;

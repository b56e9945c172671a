// Draws the call statistics chart from the numbers the page carries (Chart.js, served from the project).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const colours = ["#1b5fa8", "#1b7f3b", "#8a5a00", "#b00020", "#6a3d9a", "#00838f", "#5d4037", "#455a64"];
  const datasets = Object.entries(data.series).map(([name, s], i) => ({
    label: (data.names || {})[name] || name, data: s[data.metric], backgroundColor: colours[i % colours.length],
  }));
  window.pbxcrmChart = new Chart(document.getElementById("calls-chart"), {
    type: "bar",
    data: { labels: data.labels || data.buckets, datasets },  // the periods in the reader's language
    // On a phone the chart fills its box's fixed height (app.css) instead of keeping a desk's proportions.
    options: { animation: false, maintainAspectRatio: !window.matchMedia("(max-width: 640px)").matches,
               scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
})();

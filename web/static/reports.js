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
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
})();

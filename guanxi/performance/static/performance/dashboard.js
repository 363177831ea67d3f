// Draws the sales dashboard's charts from the JSON the page embeds (no inline script).
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var L = data.labels;
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) return;
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option);
    charts.push(chart);
  }

  var axisLabel = { interval: 0, rotate: data.groups.length > 6 ? 30 : 0 };
  draw("chart-revenue", {
    tooltip: { trigger: "axis" },
    legend: { data: [L.won_amount, L.target, L.revenue, L.collections, L.pipeline, L.win_rate] },
    grid: { left: 60, right: 50, bottom: 60, containLabel: true },
    xAxis: { type: "category", data: data.groups, axisLabel: axisLabel },
    yAxis: [{ type: "value" }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
    series: [
      { name: L.won_amount, type: "bar", data: data.won },
      { name: L.target, type: "bar", data: data.target },
      { name: L.revenue, type: "bar", data: data.revenue },
      { name: L.collections, type: "bar", data: data.collections },
      { name: L.pipeline, type: "bar", data: data.pipeline },
      { name: L.win_rate, type: "line", yAxisIndex: 1, data: data.win_rate, connectNulls: true }
    ]
  });
  draw("chart-channels", {
    tooltip: { trigger: "axis" },
    legend: { data: [L.leads, L.won, L.revenue] },
    grid: { left: 60, right: 50, bottom: 60, containLabel: true },
    xAxis: { type: "category", data: data.channels, axisLabel: { interval: 0, rotate: 30 } },
    yAxis: [{ type: "value" }, { type: "value" }],
    series: [
      { name: L.leads, type: "bar", data: data.channel_leads },
      { name: L.won, type: "bar", data: data.channel_won },
      { name: L.revenue, type: "line", yAxisIndex: 1, data: data.channel_revenue }
    ]
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();

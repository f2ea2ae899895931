// The report pages' charts (Apache ECharts) and their print button. Each chart's data is in its
// figure's data-chart attribute (JSON written by the page), so the page needs no inline script.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const FONT = '"Noto Sans CJK TC", "Noto Sans TC", "Microsoft JhengHei", "PingFang TC", sans-serif';

function option(spec) {
  const base = { textStyle: { fontFamily: FONT }, legend: { top: 0 }, tooltip: { trigger: 'axis', renderMode: 'richText' },
                 animation: false };
  if (spec.kind === 'pie') {
    return { ...base, tooltip: { trigger: 'item', renderMode: 'richText' },
             series: spec.series.map((s) => ({ type: 'pie', name: s.name, data: s.data, radius: ['35%', '65%'],
                                               label: { formatter: '{b}: {c} ({d}%)' } })) };
  }
  const type = spec.kind === 'line' ? 'line' : 'bar';
  return { ...base, grid: { left: 48, right: 16, top: 48, bottom: 64, containLabel: true },
           xAxis: { type: 'category', data: spec.categories, axisLabel: { interval: 0, rotate: spec.categories.length > 8 ? 40 : 0 } },
           yAxis: { type: 'value', minInterval: 1 },
           series: spec.series.map((s) => ({ type, name: s.name, data: s.data,
                                              stack: spec.kind === 'stacked' ? 'all' : undefined })) };
}

function draw(figure) {
  let spec;
  try {
    spec = JSON.parse(figure.dataset.chart);
  } catch (e) {
    return;
  }
  const box = document.createElement('div');
  box.className = 'chart-box';
  figure.appendChild(box);
  const chart = echarts.init(box, null, { renderer: 'canvas' });
  chart.setOption(option(spec));
  window.addEventListener('resize', () => chart.resize());
  window.addEventListener('beforeprint', () => chart.resize());
}

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('figure.chart[data-chart]').forEach(draw);
  document.querySelectorAll('[data-print]').forEach((button) => button.addEventListener('click', () => window.print()));
});

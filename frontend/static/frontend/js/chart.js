// ECharts, themed from the CSS tokens so charts follow light/dark with the rest of the page.
import * as echarts from "echarts";
import { fmtDay } from "./format.js";

const rerenders = new Set();
const scheme = matchMedia("(prefers-color-scheme: dark)");

export function tokens() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    text: v("--text"),
    muted: v("--muted"),
    border: v("--border"),
    surface: v("--surface"),
    surface2: v("--surface-2"),
    accent: v("--accent"),
    up: v("--up"),
    down: v("--down"),
    warn: v("--warn"),
    band95: v("--band-95"),
    band80: v("--band-80"),
    series: v("--series")
      .split(",")
      .map((s) => s.trim()),
  };
}

/** Options every chart shares: colours, fonts, a readable tooltip, axes in the muted tone. */
export function baseOption(t = tokens()) {
  // Wall screens are read from across the room: chart text grows with the page's text.
  const fontSize = innerWidth >= 2400 ? 16 : innerWidth >= 1900 ? 13 : 12;
  const axis = {
    axisLine: { lineStyle: { color: t.border } },
    axisTick: { lineStyle: { color: t.border } },
    axisLabel: { color: t.muted, hideOverlap: true, fontSize },
    splitLine: { lineStyle: { color: t.border, opacity: 0.6 } },
  };
  return {
    // No entry animation: a dashboard is read at a glance, and live batches redraw in place many times a minute.
    color: t.series,
    backgroundColor: "transparent",
    aria: { enabled: true },
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily, color: t.text, fontSize },
    tooltip: {
      trigger: "axis",
      backgroundColor: t.surface,
      borderColor: t.border,
      textStyle: { color: t.text },
      confine: true,
    },
    legend: { textStyle: { color: t.muted, fontSize }, top: 0, type: "scroll", pageTextStyle: { color: t.muted } },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: axis,
    yAxis: axis,
  };
}

export function axis(t, extra) {
  return { ...baseOption(t).xAxis, ...extra };
}

/** The x axis of a chart over days (ISO dates, or the first days of weeks or months): edge to edge, labelled as days. */
export function dateAxis(t, dates) {
  const base = baseOption(t).xAxis;
  return axis(t, {
    type: "category",
    data: dates,
    boundaryGap: false,
    axisLabel: {
      ...base.axisLabel,
      alignMinLabel: "left",
      alignMaxLabel: "right",
      formatter: (d) => fmtDay(d),
    },
  });
}

/**
 * An interval drawn as a filled band: an invisible line at the lower bound, with the band's width stacked on it.
 * `lower` and `width` are series data in the chart's own shape (values per category, or [x, y] pairs).
 */
export function intervalBand({ name, stack = name, lower, width, color, tooltip = true }) {
  const hidden = { type: "line", stack, symbol: "none", lineStyle: { opacity: 0 }, silent: true };
  return [
    { ...hidden, name: `${name} low`, data: lower, tooltip: { show: false } },
    { ...hidden, name, data: width, color, areaStyle: { color, opacity: 1 }, tooltip: { show: tooltip } },
  ];
}

/** A chart in `container` that resizes with it and redraws through `render()` when the colour scheme changes. */
export function createChart(container, render) {
  const chart = echarts.init(container, null, { renderer: "canvas" });
  new ResizeObserver(() => chart.resize()).observe(container);
  rerenders.add(render);
  return chart;
}

scheme.addEventListener("change", () => {
  for (const render of rerenders) render();
});

export { echarts };

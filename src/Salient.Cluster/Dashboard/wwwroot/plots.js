// Inline SVG plots: grouped bars and line curves, with a title for assistive technology.

const svgNs = 'http://www.w3.org/2000/svg';
const width = 640;
const height = 300;
const margin = { left: 48, right: 12, top: 12, bottom: 40 };

/** matplotlib's tab10, as `salient eval`'s plots colour methods. */
const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function methodColour(index) {
  return palette[index % palette.length];
}

function svgElement(name, attributes = {}, text) {
  const element = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** An SVG canvas with a y axis over [lo, hi]; returns the svg and the value-to-pixel mappings. */
function frame(title, lo, hi, xLo = 0, xHi = 1) {
  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'plot' });
  svg.append(svgElement('title', {}, title));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const x = (v) => margin.left + ((v - xLo) / (xHi - xLo || 1)) * plotWidth;
  const y = (v) => margin.top + (1 - (v - lo) / (hi - lo || 1)) * plotHeight;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    svg.append(svgElement('line', { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(svgElement('text', { x: margin.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v.toFixed(2)));
  }
  svg.append(svgElement('line', { x1: margin.left, x2: margin.left, y1: margin.top, y2: height - margin.bottom, class: 'axis' }));
  return { svg, x, y };
}

/** Grouped bars: one group per entry of `groups` ({label, values}), one bar per series (index into `values`). */
export function barChart(title, groups, seriesCount) {
  const values = groups.flatMap((g) => g.values).filter(Number.isFinite);
  const lo = Math.min(0, ...values);
  const hi = Math.max(1, ...values);
  const { svg, y } = frame(title, lo, hi);
  const groupWidth = (width - margin.left - margin.right) / Math.max(1, groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, seriesCount);
  groups.forEach((group, g) => {
    const left = margin.left + g * groupWidth + groupWidth * 0.1;
    group.values.forEach((value, s) => {
      if (!Number.isFinite(value)) return;
      const top = y(Math.max(0, value));
      const bar = svgElement('rect', { x: left + s * barWidth, y: top, width: barWidth - 1, height: Math.abs(y(value) - y(0)), fill: methodColour(s) });
      bar.append(svgElement('title', {}, `${group.label}: ${value.toFixed(3)}`));
      svg.append(bar);
    });
    svg.append(svgElement('text', { x: left + groupWidth * 0.4, y: height - margin.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, group.label));
  });
  svg.append(svgElement('line', { x1: margin.left, x2: width - margin.right, y1: y(0), y2: y(0), class: 'axis' }));
  return svg;
}

/** Curves ({x, y, colour, dashed, name}) over x in [0, 1]; the y axis spans at least [0, 1]. */
export function lineChart(title, xLabel, curves) {
  const ys = curves.flatMap((c) => c.y).filter(Number.isFinite);
  const xs = curves.flatMap((c) => c.x).filter(Number.isFinite);
  const { svg, x, y } = frame(title, Math.min(0, ...ys), Math.max(1, ...ys), Math.min(0, ...xs), Math.max(1, ...xs));
  svg.append(svgElement('line', { x1: margin.left, x2: width - margin.right, y1: height - margin.bottom, y2: height - margin.bottom, class: 'axis' }));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(svgElement('text', { x: x(v), y: height - margin.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, v.toFixed(2)));
  }
  svg.append(svgElement('text', { x: (margin.left + width - margin.right) / 2, y: height - 6, 'text-anchor': 'middle', class: 'tick' }, xLabel));
  for (const curve of curves) {
    const points = curve.x.map((xi, i) => `${x(xi).toFixed(1)},${y(curve.y[i]).toFixed(1)}`).join(' ');
    const line = svgElement('polyline', { points, fill: 'none', stroke: curve.colour, 'stroke-width': 2, 'stroke-dasharray': curve.dashed ? '6 4' : 'none' });
    line.append(svgElement('title', {}, curve.name));
    svg.append(line);
  }
  return svg;
}

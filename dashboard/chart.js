// Requests and errors over time as an SVG bar chart, built with DOM calls (no markup strings and
// no style attributes, which the page's Content-Security-Policy would refuse).
import { formatTime } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/**
 * One bar a time slice: its height the slice's requests, the failed ones in red at its foot.
 * `timeline` is `{ requests: [], errors: [] }`, `span` `{ from, bucket_ms }` (for each bar's
 * tooltip); `size` 'large' (the overall chart) or 'small' (a route's row).
 */
export function timeChart(timeline, span, size = 'large') {
  const [width, height] = size === 'large' ? [720, 120] : [160, 28];
  const slices = timeline.requests.length;
  const chart = svg('svg', { class: `time-chart ${size}`, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img' });
  const most = Math.max(1, ...timeline.requests);
  const slot = width / Math.max(1, slices);
  const gap = slices > 1 ? Math.min(2, slot * 0.2) : 0;
  chart.append(svg('title', {}, `${sum(timeline.requests)} requests, ${sum(timeline.errors)} errors over time`));
  for (let i = 0; i < slices; i++) {
    const requests = timeline.requests[i];
    const errors = timeline.errors[i];
    const bar = svg(
      'g',
      { class: 'slice' },
      svg(
        'title',
        {},
        `${sliceLabel(span, i)}: ${requests} request${requests === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}`,
      ),
    );
    const x = i * slot + gap / 2;
    const barWidth = Math.max(0.5, slot - gap);
    const tall = (n) => (n / most) * (height - 2);
    // An empty slice keeps a hairline, so the chart shows where time passed with nothing recorded.
    bar.append(
      svg('rect', {
        class: requests ? 'bar-requests' : 'bar-empty',
        x,
        y: height - Math.max(1, tall(requests)),
        width: barWidth,
        height: Math.max(1, tall(requests)),
      }),
    );
    if (errors) bar.append(svg('rect', { class: 'bar-errors', x, y: height - tall(errors), width: barWidth, height: tall(errors) }));
    chart.append(bar);
  }
  return chart;
}

function sum(values) {
  return values.reduce((total, n) => total + n, 0);
}

function sliceLabel(span, i) {
  const from = Date.parse(span?.from);
  if (!Number.isFinite(from)) return '';
  return `from ${formatTime(new Date(from + i * (span.bucket_ms ?? 0)).toISOString())}`;
}

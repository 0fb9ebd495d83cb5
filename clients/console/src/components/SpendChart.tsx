// Daily spend as bars in plain SVG: one bar a day, the tallest scaled to the plot's height, with a
// text summary for screen readers and a tooltip (title) per bar.
import { formatMicros } from "../lib/money";
import type { SpendSeries } from "../insight/types";

const WIDTH = 720;
const HEIGHT = 180;
const AXIS = 20;

export function SpendChart(props: { series: SpendSeries; title: string }) {
  const points = props.series.points;
  const top = Math.max(1, ...points.map((point) => point.spendMicros));
  const step = points.length > 0 ? WIDTH / points.length : WIDTH;
  const plot = HEIGHT - AXIS;
  const first = points[0]?.start.slice(0, 10) ?? "";
  const last = points[points.length - 1]?.start.slice(0, 10) ?? "";
  const busiest = points.reduce((best, point) => (point.spendMicros > (best?.spendMicros ?? -1) ? point : best), points[0]);
  const summary =
    `${props.title}: ${formatMicros(props.series.totalMicros)} over ${points.length} days from ${first} to ${last}` +
    (busiest ? `; the most on ${busiest.start.slice(0, 10)}, ${formatMicros(busiest.spendMicros)}.` : ".");
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line x1={0} y1={plot} x2={WIDTH} y2={plot} className="axis" />
        {points.map((point, index) => {
          const height = (point.spendMicros / top) * (plot - 4);
          return (
            <rect
              key={point.start}
              x={index * step + step * 0.1}
              y={plot - height}
              width={step * 0.8}
              height={height}
              className="day"
              data-spend={point.spendMicros}
            >
              <title>{`${point.start.slice(0, 10)}: ${formatMicros(point.spendMicros)}`}</title>
            </rect>
          );
        })}
        <text x={0} y={HEIGHT - 4} className="tick">
          {first}
        </text>
        <text x={WIDTH} y={HEIGHT - 4} className="tick" textAnchor="end">
          {last}
        </text>
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}

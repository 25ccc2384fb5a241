/** Chart.js, registered with only the pieces the dashboard draws (bars and a line), no animation. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, sans-serif';

let charts: Chart[] = [];

/** Destroys the charts of the previous render (each render builds its canvases afresh). */
export function resetCharts(): void {
  for (const c of charts) c.destroy();
  charts = [];
}

export function draw(canvas: HTMLCanvasElement, config: ChartConfiguration): void {
  charts.push(new Chart(canvas, config));
}

export const COLORS = {
  booked: '#2563eb',
  capacity: '#b42318',
  kept: '#1a7f37',
  due: '#94a3b8',
};

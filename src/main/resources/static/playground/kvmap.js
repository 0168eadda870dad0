// The live KV block map: every block of the pool as one canvas cell, fed by GET /kv/stream.
import { sseEvents, authHeaders, errorMessage } from './sse.js';

const COLORS = { f: '#e5e7eb', c: '#3b82f6', shared: '#7e22ce' };

/** "u3f2040c5" to one state letter per block. */
export function decodeRuns(map) {
  const out = [];
  for (const [, s, n] of map.matchAll(/([a-z])(\d+)/g)) for (let i = 0; i < +n; i++) out.push(s);
  return out;
}

/** In-use colour by fill: light orange for a block holding nothing yet, deep orange when full. */
function usedColor(fill) {
  const from = [253, 215, 170], to = [194, 65, 12];
  const c = from.map((v, i) => Math.round(v + (to[i] - v) * fill));
  return `rgb(${c.join(',')})`;
}

const pct = x => `${(100 * x).toFixed(1)} %`;
const mib = b => `${(b / 1048576).toFixed(2)} MiB`;

export class KvMap {
  constructor(canvas, tip, totals, onSnapshot) {
    Object.assign(this, { canvas, tip, totals, onSnapshot, snapshot: null, states: [], byId: new Map(), layout: null });
    canvas.addEventListener('mousemove', e => this.hover(e.offsetX, e.offsetY));
    canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Reads the stream until stopped, reconnecting after a failure (the server restarts, a key changes). */
  connect(getKey) {
    this.controller?.abort();
    const controller = this.controller = new AbortController();
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          const res = await fetch('kv/stream', { headers: authHeaders(getKey()), signal: controller.signal });
          if (!res.ok) throw new Error(await errorMessage(res));
          for await (const data of sseEvents(res, controller.signal)) this.update(JSON.parse(data));
        } catch (e) {
          if (controller.signal.aborted) return;
          this.canvas.setAttribute('aria-label', `KV block map unavailable: ${e.message}`);
        }
        await new Promise(r => setTimeout(r, 1000));
      }
    };
    run();
  }

  update(s) {
    this.snapshot = s;
    this.states = decodeRuns(s.map);
    this.byId = new Map(s.blocks.map(b => [b.id, b]));
    const count = l => this.states.reduce((n, x) => n + (x === l), 0);
    const used = count('u'), cached = count('c'), free = count('f');
    const shared = s.blocks.reduce((n, b) => n + (b.ref > 1), 0);
    Object.assign(this.canvas.dataset, { used, cached, free, shared, step: s.step, map: s.map });
    this.canvas.setAttribute('aria-label',
      `KV block map of ${this.states.length} blocks: ${used} in use, ${cached} cached, ${free} free`);
    this.renderTotals(s);
    this.draw();
    this.onSnapshot?.(s);
  }

  renderTotals(s) {
    const t = s.totals;
    const rows = [
      ['blocks in use', `${t.blocks_used} / ${t.blocks_total}`],
      ['cached blocks', t.blocks_cached],
      ['utilization', pct(t.utilization)],
      ['slots wasted', `${t.slots_wasted} (${pct(t.wasted_fraction)})`],
      ['blocks shared', t.blocks_shared],
      ['memory saved', `${mib(t.sharing_saved_bytes)} (${t.sharing_saved_blocks} blocks)`],
      ['preemptions', s.preemptions],
      ['swapped blocks', `${t.swap_blocks_used} / ${t.swap_blocks_total}`],
      ['running', s.running, 'kv-running'],
      ['waiting', s.waiting],
    ];
    this.totals.replaceChildren(...rows.map(([k, v, id]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = v; if (id) dd.id = id;
      div.append(dt, dd);
      return div;
    }));
  }

  /** Cells as large as the width allows, from 14 px down to 3 px for pools of tens of thousands. */
  draw() {
    const n = this.states.length, canvas = this.canvas;
    const width = canvas.clientWidth;
    if (!n || !width) return;
    let cell = 14;
    while (cell > 3 && Math.ceil(n / Math.floor(width / cell)) * cell > 420) cell--;
    const cols = Math.max(1, Math.floor(width / cell));
    const height = Math.ceil(n / cols) * cell;
    const dpr = window.devicePixelRatio || 1;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const gap = cell >= 6 ? 1 : 0, size = cell - gap;
    g.font = `${Math.floor(cell * .7)}px system-ui, sans-serif`;
    g.textAlign = 'center'; g.textBaseline = 'middle';
    const blockSize = this.snapshot.block_size;
    for (let id = 0; id < n; id++) {
      const x = (id % cols) * cell, y = Math.floor(id / cols) * cell, s = this.states[id];
      const b = s === 'u' ? this.byId.get(id) : null;
      g.fillStyle = !b ? (COLORS[s] ?? COLORS.f) : b.ref > 1 ? COLORS.shared : usedColor(b.tokens / blockSize);
      g.fillRect(x, y, size, size);
      if (b && b.ref > 1 && cell >= 12) { g.fillStyle = '#fff'; g.fillText(String(b.ref), x + size / 2, y + size / 2 + 1); }
    }
    this.layout = { cell, cols };
    Object.assign(canvas.dataset, { cell, cols });  // where block i is drawn, for tests and tools
  }

  hover(px, py) {
    const l = this.layout, tip = this.tip;
    if (!l) return;
    const id = Math.floor(py / l.cell) * l.cols + Math.floor(px / l.cell);
    if (Math.floor(px / l.cell) >= l.cols || id >= this.states.length) { tip.hidden = true; return; }
    const s = this.states[id], b = this.byId.get(id);
    tip.textContent = b
      ? `block ${id}: in use, ${b.ref} reference${b.ref > 1 ? 's' : ''}\n${b.tokens} / ${this.snapshot.block_size} tokens`
        + `${b.hashed ? ', hashed (prefix cache)' : ', not hashed'}\nowners: ${(b.owners ?? []).join(', ') || 'none'}`
      : `block ${id}: ${s === 'c' ? 'cached: free, keeps its prefix hash' : 'free'}`;
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 12, this.canvas.clientWidth - tip.offsetWidth)}px`;
    tip.style.top = `${py + 14}px`;
  }
}

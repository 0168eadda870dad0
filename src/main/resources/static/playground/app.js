// The playground: server status, the request form, the streamed output, and the KV block map.
// Test contract: ?mode=completion&prompt=...&max_tokens=32&temperature=0&autorun=1 runs on load;
// #output gets data-state="done" when the stream ends; #kv-map exposes data-used/-cached/-free.
import { sseEvents, authHeaders, errorMessage } from './sse.js';
import { KvMap } from './kvmap.js';

const $ = id => document.getElementById(id);
const form = $('request-form'), output = $('output'), errorBox = $('error');
const status = $('status'), progress = $('load-progress');
const runButton = $('run'), stopButton = $('stop-button');
const params = new URLSearchParams(location.search);
const FIELDS = ['prompt', 'temperature', 'top_p', 'top_k', 'max_tokens', 'n', 'seed', 'stop'];
let ready = false, current = null, models = [];

const key = () => $('api-key').value.trim();
const mode = () => form.elements.mode.value;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  runButton.disabled = state !== 'ready' || current !== null;  // nothing to run against until ready
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

// Query parameters fill the form (the model one too, even if the server does not list it).
for (const name of FIELDS) if (params.has(name)) $(name).value = params.get(name);
if (params.get('mode') === 'completion') form.elements.mode.value = 'completion';
const onMode = () => { $('prompt-label').textContent = mode() === 'chat' ? 'Message' : 'Prompt'; };
form.addEventListener('change', e => { if (e.target.name === 'mode') onMode(); });
onMode();

const kvMap = new KvMap($('kv-map'), $('kv-tip'), $('kv-totals'));

/** Polls /health: 503 with a percentage while the model loads, 200 once ready; re-checks now and then. */
async function watchHealth() {
  let delay = 500;
  try {
    const res = await fetch('health', { cache: 'no-store' });
    if (res.ok) {
      progress.hidden = true;
      if (!ready) { ready = true; await onReady(); }
      setStatus('ready', `Ready: ${models.join(', ') || 'model list needs the API key'}`);
      delay = 5000;
    } else {
      ready = false;
      const body = await res.json().catch(() => null);
      if (body?.status === 'loading') {
        const p = Math.floor(body.progress ?? 0);
        progress.hidden = false; progress.value = p;
        setStatus('loading', body.phase === 'starting' ? 'Model read; starting the engine…'
          : body.phase === 'warming up' ? 'Server started; warming up…'
          : body.phase === 'downloading' ? `Downloading ${body.file ?? 'the model'}: ${p} %`
          : `Loading the model: ${p} %`);
      } else {
        setStatus('down', `Not ready (HTTP ${res.status})`);
      }
    }
  } catch {
    ready = false;
    // Right after loading, the port passes from the loading server to the web server.
    if (status.dataset.state === 'loading') setStatus('loading', 'Starting the server…');
    else setStatus('down', 'Server unreachable, retrying…');
    delay = 1000;
  }
  setTimeout(watchHealth, delay);
}

async function onReady() {
  await loadModels();
  kvMap.connect(key);
  if (params.get('autorun') === '1' && !current) run();
}

async function loadModels() {
  const select = $('model');
  try {
    const res = await fetch('v1/models', { headers: authHeaders(key()) });
    if (!res.ok) throw new Error(await errorMessage(res));
    models = (await res.json()).data.map(m => m.id);
  } catch (e) {
    models = [];
    showError(`Cannot list the models: ${e.message}`);
  }
  const wanted = params.get('model');
  const names = wanted && !models.includes(wanted) ? [...models, wanted] : models;
  select.replaceChildren(...names.map(m => new Option(m, m)));
  if (wanted) select.value = wanted;
}

$('api-key').addEventListener('change', async () => {
  showError('');
  if (!ready) return;
  await loadModels();
  kvMap.connect(key);
});

function body() {
  const num = name => $(name).value === '' ? undefined : Number($(name).value);
  const stop = $('stop').value.split('\n').filter(s => s !== '');
  const b = {
    model: $('model').value, stream: true, stream_options: { include_usage: true },
    max_tokens: num('max_tokens'), temperature: num('temperature'), top_p: num('top_p'), n: num('n'),
    seed: num('seed'), stop: stop.length ? stop : undefined,
  };
  if (num('top_k') !== undefined && num('top_k') !== -1) b.top_k = num('top_k');
  const prompt = $('prompt').value;
  if (mode() === 'chat') b.messages = [{ role: 'user', content: prompt }];
  else b.prompt = prompt;
  return b;
}

/** One pane per sample; with n = 1 the text goes straight into #output. */
function samplePanes(n) {
  if (n <= 1) { output.replaceChildren(); return [output]; }
  const panes = [];
  output.replaceChildren(...Array.from({ length: n }, (_, i) => {
    const div = document.createElement('div'); div.className = 'sample';
    const h = document.createElement('h3'); h.textContent = `sample ${i + 1}`;
    const text = document.createElement('span');
    div.append(h, text); panes.push(text);
    return div;
  }));
  return panes;
}

async function run() {
  showError('');
  const request = body();
  const panes = samplePanes(request.n ?? 1);
  const controller = new AbortController();
  current = controller;
  runButton.disabled = true; stopButton.disabled = false;
  output.dataset.state = 'streaming';
  for (const id of ['ttft', 'tps', 'usage']) $(id).textContent = '–';
  const start = performance.now();
  let first = 0, last = 0, tokens = 0, state = 'done';
  try {
    const path = mode() === 'chat' ? 'v1/chat/completions' : 'v1/completions';
    const res = await fetch(path, {
      method: 'POST', signal: controller.signal,
      headers: authHeaders(key(), { 'Content-Type': 'application/json' }), body: JSON.stringify(request),
    });
    if (!res.ok) throw new Error(await errorMessage(res));
    for await (const data of sseEvents(res, controller.signal)) {
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(`${chunk.error.type ?? 'error'}: ${chunk.error.message}`);
      for (const c of chunk.choices ?? []) {
        const text = c.text ?? c.delta?.content ?? '';
        if (!text) continue;
        last = performance.now();
        if (!first) { first = last; $('ttft').textContent = `${Math.round(first - start)} ms`; }
        tokens++;
        (panes[c.index] ?? panes[0]).append(text);
        if (tokens > 1) $('tps').textContent = (tokens / ((last - first) / 1000 || 1e-3)).toFixed(1);
      }
      if (chunk.usage) {
        const u = chunk.usage;
        $('usage').textContent = `${u.prompt_tokens} prompt + ${u.completion_tokens} completion = ${u.total_tokens} tokens`;
      }
    }
  } catch (e) {
    if (controller.signal.aborted) state = 'stopped';
    else { state = 'error'; showError(e.message); }
  } finally {
    current = null;
    runButton.disabled = !ready; stopButton.disabled = true;
    output.dataset.state = state;
  }
}

form.addEventListener('submit', e => { e.preventDefault(); if (!current) run(); });
// Closing the stream is the abort: the server cancels the request when its connection ends.
stopButton.addEventListener('click', () => current?.abort());

watchHealth();

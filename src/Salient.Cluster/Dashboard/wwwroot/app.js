// The dashboard: jobs with live progress, one job's metrics, plots and gallery, the workers.
// Views by location hash: #/ (jobs), #/workers, #/jobs/{id}.

import { ApiError, adoptKeyFromUrl, apiKey, blobUrl, followJob, getJson, jobPath, setApiKey } from './api.js';
import { barChart, lineChart, methodColour } from './plots.js';

const finishedStates = new Set(['succeeded', 'failed', 'cancelled']);
const jobsPollMs = 10000;
const workersPollMs = 5000;
const galleryPage = 48;
/** Jobs of the list followed live; browsers allow 6 HTTP/1.1 connections per server, the rest are polled. */
const followedJobs = 4;
/**
 * A worker not heard from for this long is shown as stale, before its peers declare its silo dead and the
 * coordinator marks it lost: silos write a heartbeat to the membership table every 10 s, so this is three missed beats.
 */
const staleWorkerSeconds = 30;
/** Characters of a job id shown in the list (more where two listed ids start alike). */
const shortIdLength = 8;

/** Scalar metrics in table order, as `salient eval`'s report lists them: key, title, lower is better. */
const scalarMetrics = [
  ['deletion', 'Deletion AUC', true], ['insertion', 'Insertion AUC', false], ['road-morf', 'ROAD MoRF', true],
  ['road-lerf', 'ROAD LeRF', false], ['road', 'ROAD (LeRF−MoRF)/2', false], ['pointing', 'Pointing game', false],
  ['energy', 'Energy pointing', false], ['selectivity', 'Selectivity', false], ['sanity', 'Sanity ρ (randomised)', true],
];

/** Curve plots: title, x axis, curves drawn (the second one dashed). */
const curvePlots = [
  ['Deletion: target probability over the fraction of pixels deleted', 'fraction deleted', ['deletion']],
  ['Insertion: target probability over the fraction of pixels inserted', 'fraction inserted', ['insertion']],
  ['ROAD: target probability over the fraction imputed, MoRF solid, LeRF dashed', 'fraction imputed', ['road-morf', 'road-lerf']],
  ['Sanity check: Spearman ρ with the original map over the fraction of layers randomised', 'fraction randomised', ['sanity']],
];

const $ = (selector) => document.querySelector(selector);

/** Whatever the current view started (event sources, timers), stopped when the view changes. */
let stopView = [];

// ---- formatting ----

function element(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) e.setAttribute(key, String(value));
  }
  e.append(...children);
  return e;
}

function isFinished(job) {
  return finishedStates.has(String(job.state).toLowerCase());
}

/** Share of the job's items finished (failed ones included in `done`), 0–100, rounded down so 100 means all. */
function percent(job) {
  const { items = {}, shards = {} } = job;
  if (items.total > 0) return Math.floor((100 * (items.done ?? 0)) / items.total);
  if (shards.total > 0) return Math.floor((100 * ((shards.done ?? 0) + (shards.dead ?? 0) + (shards.cancelled ?? 0))) / shards.total);
  return isFinished(job) ? 100 : 0;
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function time(iso) {
  return iso ? element('time', { datetime: iso }, new Date(iso).toLocaleString()) : '–';
}

function modelName(model) {
  return typeof model === 'string' ? model : (model?.key ?? '–');
}

function throughput(job) {
  return Number.isFinite(job.throughput_items_per_s) ? `${job.throughput_items_per_s.toFixed(1)} items/s` : '–';
}

function eta(job) {
  return isFinished(job) ? '–' : duration(job.eta_s);
}

/** The list's ETA column: `done` only for a job that succeeded; a failed or cancelled one has none. */
function etaCell(job) {
  return String(job.state).toLowerCase() === 'succeeded' ? 'done' : eta(job);
}

/**
 * Short labels for job ids that tell every listed job apart: the first characters, and where two ids
 * share them (UUIDv7 ids made in the same millisecond do), `…` and as many of the last characters as it takes.
 */
function shortIds(ids) {
  const labels = new Map();
  const groups = Map.groupBy(ids, (id) => String(id).slice(0, shortIdLength));
  for (const [head, group] of groups) {
    if (group.length === 1) {
      labels.set(group[0], head);
      continue;
    }
    let tail = 4;
    while (tail < 32 && new Set(group.map((id) => String(id).slice(-tail))).size < group.length) tail += 4;
    for (const id of group) labels.set(id, `${head}…${String(id).slice(-tail)}`);
  }
  return labels;
}

function progressCell(job) {
  const p = percent(job);
  return element('span', { class: 'progress' },
    element('progress', { max: 100, value: p, 'aria-label': `Job ${job.id} progress` }),
    element('span', { class: 'percent' }, `${p}%`));
}

function stateBadge(state) {
  return element('span', { class: `state state-${String(state).toLowerCase()}` }, String(state));
}

/** A metrics field in the summaries' camelCase, or the snake_case an API serialiser may use. */
function field(object, name) {
  return object?.[name] ?? object?.[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function number(v) {
  return Number.isFinite(v) ? v.toFixed(3) : '–';
}

// ---- status and errors ----

function setStatus(message, isError = false) {
  const status = $('#status');
  status.textContent = message;
  status.classList.toggle('error', isError);
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) {
    setStatus(apiKey() ? 'The API key was refused: enter another one above.' : 'This cluster needs an API key: enter it above.', true);
    $('#api-key').focus();
  } else {
    setStatus(String(error.message ?? error), true);
  }
}

// ---- jobs ----

function jobRow(job, label) {
  const items = job.items ?? {};
  const row = element('tr', { 'data-job': job.id, 'data-state': String(job.state).toLowerCase() },
    element('th', { scope: 'row' }, element('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, title: job.id, 'aria-label': `Job ${job.id}` }, label)),
    element('td', {}, job.kind ?? '–'),
    element('td', {}, modelName(job.model)),
    element('td', {}, stateBadge(job.state)),
    element('td', {}, progressCell(job)),
    element('td', { class: 'number' }, `${items.done ?? 0}/${items.total ?? 0}${items.failed ? ` (${items.failed} failed)` : ''}`),
    element('td', { class: 'number' }, throughput(job)),
    element('td', { class: 'number' }, etaCell(job)),
    element('td', {}, time(job.created_at)));
  return row;
}

function showJobs() {
  const body = $('#jobs tbody');
  const follows = new Map();
  let labels = new Map();
  const update = (job) => body.querySelector(`tr[data-job="${CSS.escape(job.id)}"]`)?.replaceWith(jobRow(job, labels.get(job.id)));

  const load = async () => {
    try {
      const jobs = await getJson('/api/v1/jobs?limit=50');
      labels = shortIds(jobs.map((j) => j.id));
      body.replaceChildren(...jobs.map((j) => jobRow(j, labels.get(j.id))));
      $('#jobs-empty').hidden = jobs.length > 0;
      const listed = new Set(jobs.map((j) => j.id));
      for (const [id, stop] of follows) {
        if (!listed.has(id)) {
          stop();
          follows.delete(id);
        }
      }
      for (const job of jobs.filter((j) => !isFinished(j) && !follows.has(j.id)).slice(0, followedJobs - follows.size)) {
        follows.set(job.id, followJob(job.id, {
          onProgress: update,
          onDone: () => {
            follows.delete(job.id);
            getJson(jobPath(job.id)).then(update, report);
          },
          onError: () => follows.delete(job.id),
        }));
      }
    } catch (error) {
      report(error);
    }
  };

  load();
  const timer = setInterval(load, jobsPollMs);
  stopView.push(() => clearInterval(timer), () => follows.forEach((stop) => stop()));
}

// ---- one job ----

function renderSummary(job) {
  const shards = job.shards ?? {};
  const items = job.items ?? {};
  const entries = [
    ['State', stateBadge(job.state)],
    ['Progress', progressCell(job)],
    ['Kind', job.kind ?? '–'],
    ['Model', modelName(job.model)],
    ['Items', `${items.done ?? 0} of ${items.total ?? 0} finished, ${items.failed ?? 0} failed`],
    ['Shards', `${shards.done ?? 0} done, ${shards.leased ?? 0} running, ${shards.queued ?? 0} queued, ${shards.dead ?? 0} dead, ${shards.cancelled ?? 0} cancelled of ${shards.total ?? 0}`],
    ['Throughput', throughput(job)],
    ['ETA', eta(job)],
    ['Created', time(job.created_at)],
    ['Finished', time(job.finished_at)],
  ];
  if (job.error) entries.push(['Error', job.error]);
  $('#job-summary').replaceChildren(...entries.flatMap(([term, value]) => [element('dt', {}, term), element('dd', {}, value)]));
  $('#job-summary').dataset.state = String(job.state).toLowerCase();
}

/**
 * The per-method summaries (`MetricAccumulator.Summarize`) of a metrics document: the coordinator's
 * merged document has them under `summary`, `salient eval`'s metrics.json under `methods`.
 */
function methodSummaries(document) {
  const methods = document?.summary ?? document?.methods ?? {};
  return Array.isArray(methods) ? methods : Object.entries(methods).map(([name, m]) => ({ ...m, method: m.method ?? name }));
}

function renderMetrics(document) {
  const methods = methodSummaries(document);
  const table = $('#metrics');
  const plots = $('#plots');
  if (methods.length === 0) {
    table.hidden = true;
    plots.replaceChildren();
    $('#metrics-note').textContent = 'This job produced no metrics.';
    return;
  }

  const columns = scalarMetrics
    .filter(([key]) => methods.some((m) => m.scalars?.[key]))
    .map(([key, title, lower]) => ({
      title: `${title} ${lower ? '↓' : '↑'}`,
      short: key,
      value: (m) => m.scalars?.[key]?.mean ?? NaN,
      cell: (m) => (m.scalars?.[key] ? `${number(m.scalars[key].mean)} ± ${number(field(m.scalars[key], 'standardDeviation'))}` : '–'),
    }));
  if (methods.some((m) => m.segmentation)) {
    columns.push({ title: 'mIoU ↑', short: 'mIoU', value: (m) => field(m.segmentation, 'meanIoU') ?? NaN, cell: (m) => number(field(m.segmentation, 'meanIoU')) });
  }

  table.tHead.replaceChildren(element('tr', {},
    ...['Method', 'Items', 'Errors', ...columns.map((c) => c.title)].map((t) => element('th', { scope: 'col' }, t))));
  table.tBodies[0].replaceChildren(...methods.map((m, i) => element('tr', {},
    element('th', { scope: 'row' }, element('span', { class: 'swatch', style: `background:${methodColour(i)}`, 'aria-hidden': 'true' }), ` ${m.method}`),
    element('td', { class: 'number' }, String(m.items ?? 0)),
    element('td', { class: 'number' }, String(m.errors ?? 0)),
    ...columns.map((c) => element('td', { class: 'number' }, c.cell(m))))));
  table.hidden = false;
  $('#metrics-note').textContent = '';

  const figures = [];
  const figure = (svg, caption) => element('figure', {}, svg, element('figcaption', {}, caption));
  if (columns.length > 0) {
    const title = 'Mean per metric, one bar per method';
    figures.push(figure(barChart(title, columns.map((c) => ({ label: c.short, values: methods.map(c.value) })), methods.length), title));
  }
  for (const [title, xLabel, keys] of curvePlots) {
    const curves = methods.flatMap((m, i) => keys
      .map((key, k) => ({ curve: m.curves?.[key], key, dashed: k > 0 }))
      .filter(({ curve }) => curve)
      .map(({ curve, key, dashed }) => ({ x: curve.x, y: curve.mean, colour: methodColour(i), dashed, name: `${m.method} ${key}` })));
    if (curves.length > 0) figures.push(figure(lineChart(title, xLabel, curves), title));
  }
  const legend = element('ul', { class: 'legend', 'aria-label': 'Method colours' },
    ...methods.map((m, i) => element('li', {}, element('span', { class: 'swatch', style: `background:${methodColour(i)}`, 'aria-hidden': 'true' }), ` ${m.method}`)));
  plots.replaceChildren(legend, ...figures);
}

async function loadMetrics(id) {
  try {
    renderMetrics(await getJson(jobPath(id, '/metrics')));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      $('#metrics-note').textContent = 'Metrics appear when the job finishes.';
    } else {
      report(error);
    }
  }
}

/** A blob path of the job as the manifest names it (relative to `jobs/<id>/`, or with that prefix). */
function jobBlobPath(id, path) {
  const relative = path.startsWith(`jobs/${id}/`) ? path.slice(`jobs/${id}/`.length) : path;
  return jobPath(id, `/blobs/${relative.split('/').map(encodeURIComponent).join('/')}`);
}

function image(path, alt) {
  const img = element('img', { alt, decoding: 'async' });
  blobUrl(path).then((url) => {
    img.src = url;
    img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  }, (error) => {
    img.alt = `${alt} (not available: ${error.message})`;
    img.classList.add('missing');
  });
  return img;
}

function methodName(record) {
  return record.layer ? `${record.method} (${record.layer})` : record.method;
}

/** Gallery of one job: one card per item and target with the input and each method's overlay (explain) or scores (eval). */
function gallery(id) {
  const list = $('#gallery');
  const more = $('#gallery-more');
  const cards = new Map();
  const failures = new Map();
  let loaded = 0;

  // One card per failed item, whatever number of methods reported it: each distinct error once, with its methods.
  const failure = (record) => {
    const item = record.item ?? '?';
    if (!failures.has(item)) {
      const errors = element('ul', { class: 'errors' });
      list.append(element('li', { class: 'card failed', 'data-item': item }, element('p', {}, element('span', { class: 'item' }, item)), errors));
      failures.set(item, { errors, byMessage: new Map() });
    }
    const { errors, byMessage } = failures.get(item);
    if (!byMessage.has(record.error)) {
      const line = element('li', {});
      errors.append(line);
      byMessage.set(record.error, { line, methods: [] });
    }
    const entry = byMessage.get(record.error);
    if (record.method && !entry.methods.includes(record.method)) entry.methods.push(record.method);
    entry.line.textContent = `Failed${entry.methods.length > 0 ? ` (${entry.methods.join(', ')})` : ''}: ${record.error}`;
  };

  const card = (record) => {
    // A contrast or weighted-sum target (record.target) is a card of its own beside its class's.
    const key = `${record.item}\u0000${record.class}\u0000${record.target ?? ''}`;
    if (!cards.has(key)) {
      const target = `${record.label ?? `class ${record.class}`}${Number.isFinite(record.score) ? ` (${record.score.toFixed(2)})` : ''}${record.target ? `, explained by ${record.target}` : ''}`;
      const images = element('div', { class: 'images' },
        element('figure', {}, image(jobPath(id, `/inputs/${record.item.split('/').map(encodeURIComponent).join('/')}`), `Input ${record.item}`), element('figcaption', {}, 'input')));
      const item = element('li', { class: 'card' }, images,
        element('p', {}, element('span', { class: 'item' }, record.item), element('br'), `Target: ${target}`));
      cards.set(key, { item, images });
      list.append(item);
    }
    return cards.get(key);
  };

  const load = async () => {
    try {
      const records = await getJson(jobPath(id, `/results?after=${loaded}&limit=${galleryPage}`));
      loaded += records.length;
      for (const record of records) {
        if (record.error) {
          failure(record);
        } else if (record.outputs?.overlay) {
          card(record).images.append(element('figure', {}, image(jobBlobPath(id, record.outputs.overlay), `${methodName(record)} overlay for ${record.item}`), element('figcaption', {}, methodName(record))));
        } else if (record.metrics) {
          // An eval record has no maps, only its target's scores: one line per method under the input.
          const scores = Object.entries(record.metrics).map(([metric, value]) => `${metric} ${number(value)}`).join(', ');
          card(record).item.append(element('p', { class: 'scores' }, `${methodName(record)}: ${scores}`));
        }
      }
      more.hidden = records.length < galleryPage;
      $('#gallery-note').textContent = loaded === 0 ? 'No results yet.' : '';
    } catch (error) {
      report(error);
    }
  };

  list.replaceChildren();
  more.onclick = load;
  return load();
}

async function showJob(id) {
  $('#job-title').textContent = `Job ${id}`;
  $('#job-summary').replaceChildren();
  $('#metrics').hidden = true;
  $('#plots').replaceChildren();
  $('#metrics-note').textContent = '';
  $('#gallery-note').textContent = '';

  const finish = (job) => {
    renderSummary(job);
    loadMetrics(id);
    gallery(id);
  };
  try {
    const job = await getJson(jobPath(id));
    if (isFinished(job)) {
      finish(job);
      return;
    }
    renderSummary(job);
    $('#metrics-note').textContent = 'Metrics appear when the job finishes.';
    gallery(id);
    stopView.push(followJob(id, {
      onProgress: renderSummary,
      onDone: async () => finish(await getJson(jobPath(id))),
      onError: () => setStatus('Lost the progress stream of this job; reload to follow it again.', true),
    }));
  } catch (error) {
    report(error);
  }
}

// ---- workers ----

function device(d) {
  return typeof d === 'string' ? d : [d.kind, d.name].filter(Boolean).join(' ');
}

/** The worker's state as shown: `stale` for an active one whose heartbeats stopped, before the coordinator marks it lost. */
function workerState(worker, age) {
  const state = String(worker.state).toLowerCase();
  return state === 'active' && age > staleWorkerSeconds ? 'stale' : state;
}

function workerRow(worker, now) {
  const age = (now - Date.parse(worker.heartbeat_at)) / 1000;
  const state = workerState(worker, age);
  const models = worker.models == null ? 'any' : Array.isArray(worker.models) ? worker.models.join(', ') : String(worker.models);
  const badge = stateBadge(state);
  if (state === 'stale') badge.title = `No heartbeat for ${duration(age)}; the coordinator marks it lost once its peers declare its silo dead.`;
  return element('tr', { 'data-worker': worker.id, 'data-state': state },
    element('th', { scope: 'row' }, worker.name ?? worker.id),
    element('td', {}, badge),
    element('td', {}, (worker.devices ?? []).map(device).join(', ') || '–'),
    element('td', {}, models),
    element('td', { class: 'number' }, String(worker.capacity ?? '–')),
    element('td', { class: 'number' }, String(worker.shards_in_flight ?? 0)),
    element('td', {}, element('time', { datetime: worker.heartbeat_at, title: new Date(worker.heartbeat_at).toLocaleString() }, `${duration(age)} ago`)));
}

function showWorkers() {
  // Rows are drawn from the latest list at every tick, so a worker's heartbeat age (and so its stale state) moves on
  // even while a request is slow; one request at a time.
  let latest = null;
  let loading = false;
  const render = () => {
    if (latest === null) return;
    const now = Date.now();
    $('#workers tbody').replaceChildren(...latest.map((w) => workerRow(w, now)));
    $('#workers-empty').hidden = latest.length > 0;
  };
  const load = async () => {
    if (loading) {
      render();
      return;
    }
    loading = true;
    try {
      latest = await getJson('/api/v1/workers');
    } catch (error) {
      report(error);
    } finally {
      loading = false;
    }
    render();
  };
  load();
  const timer = setInterval(load, workersPollMs);
  stopView.push(() => clearInterval(timer));
}

// ---- routing ----

function route() {
  stopView.forEach((stop) => stop());
  stopView = [];
  setStatus('');
  const hash = location.hash;
  const job = /^#\/jobs\/(.+)$/.exec(hash);
  const view = job ? 'job' : hash === '#/workers' ? 'workers' : 'jobs';
  $('#jobs-view').hidden = view !== 'jobs';
  $('#workers-view').hidden = view !== 'workers';
  $('#job-view').hidden = view !== 'job';
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === (view === 'job' ? 'jobs' : view)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view === 'job') showJob(decodeURIComponent(job[1]));
  else if (view === 'workers') showWorkers();
  else showJobs();
}

adoptKeyFromUrl();
// The field shows the key in use (masked), whether it came from ?key= or was entered before.
$('#api-key').value = apiKey();
$('#login').addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey($('#api-key').value.trim());
  $('#api-key').value = apiKey();
  route();
  setStatus(apiKey() ? 'API key saved for this browser session.' : 'API key cleared.');
});
addEventListener('hashchange', route);
route();

// The MRM dashboard: polls the coordinator's JSON API every second and redraws. No framework,
// nothing from the internet. A token given as ?token=… is sent as a bearer token.

(() => {
  const POLL_MS = 1000;
  const token = new URLSearchParams(location.search).get('token');
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let selectedJob;
  let lastVersionsKey = '';

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
    return node;
  };
  const api = async (path, init) => {
    const res = await fetch(path, { ...init, headers });
    const body = await res.json();
    if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    return body;
  };
  const num = (n) => (n == null ? '-' : Number(n).toLocaleString('en-US'));
  const bytes = (n) => {
    if (n == null) return '-';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  };
  const ago = (ms) => {
    if (ms == null) return '-';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : new Date(ms).toLocaleString();
  };
  const fill = (tbody, rows) => tbody.replaceChildren(...rows);

  function progressBar(job) {
    const p = job.progress;
    if (!p) return el('span', { class: 'muted' }, job.state === 'queued' ? 'waiting' : '-');
    const pct = p.totalBatches > 0 ? Math.round((100 * p.mergedBatches) / p.totalBatches) : 100;
    const bar = el('span', { class: `bar${pct >= 100 ? ' done' : ''}`, role: 'progressbar', 'aria-valuenow': pct });
    bar.append(el('span', { style: `width:${pct}%` }));
    return el(
      'span',
      {},
      bar,
      el('span', { class: 'bar-label' }, `${num(p.mergedBatches)}/${num(p.totalBatches)} batches (${pct}%)`),
    );
  }

  // A windowed job with lateness: its late records beside the records, its watermark on hover.
  function recordsText(p) {
    return p.lateRecords ? `${num(p.records)} (${num(p.lateRecords)} late)` : num(p.records);
  }

  function watermarkTitle(job) {
    const w = job.progress?.watermarkMs;
    return typeof w === 'number' ? { title: `watermark ${new Date(w).toISOString()}` } : {};
  }

  function jobRow(job) {
    const versions = job.versions?.length ? `${job.versions[0]}–${job.versions.at(-1)}` : '-';
    const cancel =
      job.state === 'queued' || job.state === 'running'
        ? el(
            'button',
            {
              onclick: (e) => {
                e.stopPropagation();
                api(`/api/jobs/${encodeURIComponent(job.jobId)}/cancel`, { method: 'POST' }).catch((err) =>
                  alert(err.message),
                );
              },
            },
            'Cancel',
          )
        : '';
    const row = el(
      'tr',
      {
        class: `job${job.jobId === selectedJob ? ' selected' : ''}`,
        'data-job': job.jobId,
        onclick: () => select(job.jobId),
      },
      el('td', {}, el('code', {}, job.jobId)),
      el('td', {}, job.name),
      el('td', {}, el('span', { class: `state ${job.state}` }, job.state)),
      el('td', {}, progressBar(job)),
      el('td', { class: 'num' }, job.progress ? num(job.progress.lagBatches) : '-'),
      el('td', { class: 'num', ...watermarkTitle(job) }, job.progress ? recordsText(job.progress) : '-'),
      el('td', {}, versions),
      el('td', {}, ago(job.submittedAtMs)),
      el('td', {}, cancel),
    );
    return row;
  }

  function workerRow(w) {
    const parts = w.partitions
      ? Object.entries(w.partitions)
          .map(([job, ps]) => `${job}: ${ps.length}`)
          .join(', ')
      : '-';
    return el(
      'tr',
      { 'data-worker': w.workerId },
      el('td', {}, el('code', {}, w.workerId)),
      el('td', {}, w.role),
      el(
        'td',
        {},
        el('span', { class: `health ${w.alive ? 'ok' : 'lost'}` }, w.alive ? 'alive' : 'lost'),
        ` · seen ${ago(w.lastSeenMs)}`,
      ),
      el('td', {}, w.phase ?? '-'),
      el('td', { class: 'num' }, w.resources ? `${w.resources.cpuPercent.toFixed(1)} %` : '-'),
      el('td', { class: 'num' }, w.resources ? bytes(w.resources.rssBytes) : '-'),
      el('td', {}, parts),
      el('td', {}, w.metricsUrl ? el('a', { href: w.metricsUrl }, 'metrics') : '-'),
    );
  }

  function alerts(jobs) {
    const items = [];
    for (const j of jobs) {
      if (j.stalled) items.push(el('li', { class: 'warn' }, `⚠ ${j.stalled.message}`));
      if (j.error) items.push(el('li', { class: 'error' }, `${j.jobId}: ${j.error.message}`));
    }
    $('alerts-section').hidden = items.length === 0;
    $('alerts').replaceChildren(...items.slice(0, 20));
  }

  // Load per merge worker (`skew` in a job's status): pairs each one reduced, and the balance.
  function balance(job) {
    const skew = job?.skew;
    const entries = Object.entries(skew?.pairsByWorker ?? {});
    $('balance-section').hidden = entries.length === 0;
    if (entries.length === 0) return;
    const hot = skew.hotKeys?.length ? ` · ${skew.hotKeys.length} hot keys salted` : '';
    $('balance-job').textContent =
      `(${job.name}: busiest ÷ mean = ${Number(skew.balance).toFixed(2)}${hot}${skew.warning ? ` · ${skew.warning}` : ''})`;
    const max = Math.max(1, ...entries.map(([, v]) => v));
    $('balance').replaceChildren(
      ...entries
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, v]) => {
          const bar = el('span', { class: 'bar' });
          bar.append(el('span', { style: `width:${Math.round((100 * v) / max)}%` }));
          return el(
            'div',
            { class: 'load-row', 'data-load': name },
            el('span', { class: 'name' }, name),
            bar,
            el('span', { class: 'bar-label' }, `${num(v)} pairs`),
          );
        }),
    );
  }

  // Dead letters: the job's status counts them (`progress.deadLetters`); `mrm dead-letters` lists them.
  function deadLetters(job) {
    const d = job?.deadLetters ?? job?.progress?.deadLetters;
    const list = Array.isArray(d) ? d : Array.isArray(d?.items) ? d.items : undefined;
    const count = typeof d === 'number' ? d : (list?.length ?? 0);
    $('dead-letters-section').hidden = count === 0;
    if (count === 0) return;
    $('dead-letters-job').textContent =
      `(${job.name}: ${num(count)} set aside; list them with mrm dead-letters --job ${job.name})`;
    $('dead-letters').hidden = list === undefined;
    fill(
      $('dead-letters').tBodies[0],
      (list ?? [])
        .slice(-20)
        .map((x) =>
          el(
            'tr',
            {},
            el('td', {}, x.where ?? x.source ?? x.phase ?? x.stage ?? '-'),
            el('td', {}, x.error?.message ?? x.message ?? JSON.stringify(x)),
          ),
        ),
    );
  }

  function drawRate(series) {
    const svg = $('rate');
    const counts = series.counts;
    const w = 600;
    const h = 140;
    const max = Math.max(1, ...counts);
    const step = w / Math.max(1, counts.length - 1);
    const pts = counts.map((c, i) => `${(i * step).toFixed(1)},${(h - 4 - ((h - 12) * c) / max).toFixed(1)}`);
    const ns = 'http://www.w3.org/2000/svg';
    const area = document.createElementNS(ns, 'polygon');
    area.setAttribute('class', 'area');
    area.setAttribute('points', `0,${h} ${pts.join(' ')} ${w},${h}`);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('class', 'line');
    line.setAttribute('points', pts.join(' '));
    svg.replaceChildren(area, line);
    const recent = counts.slice(-10);
    const now = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
    const total = counts.reduce((a, b) => a + b, 0);
    $('rate-caption').textContent = `now ${now.toFixed(1)}/s · peak ${max}/s · ${num(total)} batches in the window`;
    svg.dataset.total = String(total);
  }

  async function versions(job) {
    $('versions-job').textContent = job ? `of ${job.name} (${job.jobId})` : '';
    if (!job) return;
    const key = `${job.jobId}/${job.state}/${job.versions?.length ?? 0}`;
    if (key === lastVersionsKey) return;
    const body = await api(`/api/jobs/${encodeURIComponent(job.jobId)}/versions`);
    lastVersionsKey = key;
    const rows = [...body.versions]
      .reverse()
      .map((v) =>
        el(
          'tr',
          { 'data-version': v.version },
          el('td', { class: 'num' }, v.version),
          el('td', {}, new Date(v.createdAtMs).toLocaleString()),
          el('td', { class: 'num' }, num(v.batches)),
          el('td', { class: 'num' }, num(v.records)),
          el('td', { class: 'num' }, num(v.keys)),
          el('td', {}, v.label),
        ),
      );
    fill($('versions').tBodies[0], rows);
    $('no-versions').hidden = rows.length > 0;
  }

  let latest = { jobs: [], workers: [] };
  function select(jobId) {
    selectedJob = jobId;
    lastVersionsKey = '';
    render();
  }

  function render() {
    const { jobs, workers } = latest;
    const job = jobs.find((j) => j.jobId === selectedJob) ?? jobs.find((j) => j.state === 'running') ?? jobs[0];
    if (job && !selectedJob) selectedJob = job.jobId;
    fill($('jobs').tBodies[0], jobs.map(jobRow));
    $('no-jobs').hidden = jobs.length > 0;
    fill($('workers').tBodies[0], workers.map(workerRow));
    alerts(jobs);
    balance(job);
    deadLetters(job);
    const alive = workers.filter((w) => w.alive).length;
    const running = jobs.filter((j) => j.state === 'running').length;
    const queued = jobs.filter((j) => j.state === 'queued').length;
    $('summary').textContent = `${running} running · ${queued} queued · ${alive}/${workers.length} workers alive`;
    return versions(job);
  }

  async function tick() {
    try {
      const [status, rate] = await Promise.all([api('/api/jobs'), api('/api/merge-rate')]);
      latest = status;
      drawRate(rate);
      await render();
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      $('updated').textContent = `cannot reach the coordinator: ${e.message}`;
    } finally {
      setTimeout(tick, POLL_MS);
    }
  }
  tick();
})();

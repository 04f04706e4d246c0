// The Sluice web console: polls the REST API every POLL_MS with the bearer token (kept in
// sessionStorage, sent as Authorization: Bearer, never in a URL or a cookie) and renders the
// connectors, the selected connector's plots and the syncs.
'use strict';

(() => {
  const POLL_MS = 3000;
  const TOKEN_KEY = 'sluice.token';
  const $ = (id) => document.getElementById(id);
  let selected = null;      // the connector whose detail is shown
  let editLoadedFor = null; // the connector whose config is in the edit form
  let editLoaded = {};      // that config as loaded (secrets redacted)
  let timer = null;

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    const text = await r.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = { message: text }; }
    }
    if (!r.ok) throw new ApiError(r.status, (data && data.message) || r.statusText);
    return data;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n)) ? '–'
    : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return fmt(n, i ? 1 : 0) + ' ' + units[i];
  }
  function duration(s) {
    if (s === null || s === undefined || s < 0) return '?';
    if (s < 60) return Math.round(s) + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(Math.round(s % 60)).padStart(2, '0') + 's';
    return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  }

  // ---- auth ----
  function showLogin(message) {
    $('app').classList.add('hidden');
    $('login').classList.remove('hidden');
    $('login-error').textContent = message || '';
    $('token').focus();
  }
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('token').value = '';
    refresh();
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('');
  });

  // ---- connectors ----
  function sourceToSink(config) {
    const src = config['connector.class'] || '?';
    const db = config['database.dbname'] || config['database.include.list'] || '';
    const sink = config['sink.type'] || '?';
    let target = config['sink.url'] || config['sink.path'] || config['topic.prefix'] || '';
    target = target.replace(/\/\/[^@/]*@/, '//');  // no user in the table
    return src + (db ? ' ' + db : '') + ' → ' + sink + (target ? ' ' + target : '');
  }

  function actionButton(label, name, fn, cls) {
    const b = el('button', cls, label);
    b.type = 'button';
    b.dataset.action = label.toLowerCase();
    b.dataset.connector = name;
    b.addEventListener('click', (ev) => { ev.stopPropagation(); fn(name); });
    return b;
  }

  async function lifecycle(name, verb, method) {
    try {
      await api(method, '/connectors/' + encodeURIComponent(name) + '/' + verb);
      showBanner('');
    } catch (e) {
      showBanner(verb + ' ' + name + ': ' + e.message);
    }
    refresh();
  }

  function confirmDelete(name) {
    const dialog = $('confirm');
    $('confirm-text').textContent = 'Delete connector "' + name + '"? Its position and history ' +
      'are removed and the replication slot it created is dropped (unless slot.drop.on.delete=false).';
    dialog.returnValue = '';
    dialog.onclose = async () => {
      if (dialog.returnValue !== 'ok') return;
      try {
        await api('DELETE', '/connectors/' + encodeURIComponent(name));
        if (selected === name) select(null);
      } catch (e) {
        showBanner('delete ' + name + ': ' + e.message);
      }
      refresh();
    };
    dialog.showModal();
  }

  function snapshotCell(snapshot) {
    const td = el('td');
    if (!snapshot) return td;
    const p = snapshot.percent;
    const bar = el('progress');
    bar.max = 100;
    if (p !== null && p !== undefined) bar.value = p;
    td.append(bar, el('span', 'muted', ' ' + (p === null || p === undefined ? '?' : fmt(p, 1)) +
                      '% ' + (snapshot.phase || '')));
    return td;
  }

  function renderConnectors(list, latest) {
    const tbody = $('connectors').querySelector('tbody');
    const rows = [];
    for (const [name, entry] of Object.entries(list)) {
      const status = entry.status || {};
      const config = (entry.info && entry.info.config) || {};
      const state = (status.connector && status.connector.state) || '?';
      const trace = (status.connector && status.connector.trace) || '';
      const last = latest[name] || {};
      const tr = el('tr');
      tr.dataset.connector = name;
      if (name === selected) tr.classList.add('selected');
      const nameCell = el('td', 'name');
      const link = el('a', null, name);
      link.addEventListener('click', () => select(name));
      nameCell.append(link);
      const stateCell = el('td');
      stateCell.append(el('span', 'state state-' + state, state));
      if (state === 'FAILED' && trace) stateCell.append(el('pre', 'trace', trace));
      const errorCell = el('td');
      if (trace && state !== 'FAILED') errorCell.append(el('pre', 'trace', trace));
      const actions = el('td');
      const box = el('div', 'actions');
      if (state === 'PAUSED' || state === 'STOPPED') {
        box.append(actionButton('Resume', name, (n) => lifecycle(n, 'resume', 'PUT')));
      } else {
        box.append(actionButton('Pause', name, (n) => lifecycle(n, 'pause', 'PUT')));
      }
      box.append(actionButton('Restart', name, (n) => lifecycle(n, 'restart', 'POST')));
      if (state !== 'STOPPED') box.append(actionButton('Stop', name, (n) => lifecycle(n, 'stop', 'PUT')));
      box.append(actionButton('Delete', name, confirmDelete, 'danger'));
      actions.append(box);
      tr.append(nameCell, el('td', null, sourceToSink(config)), stateCell,
                snapshotCell(status.snapshot),
                el('td', 'lag', last.lag_ms === undefined ? '–' : fmt(last.lag_ms) + ' ms'),
                el('td', null, last.queue_events === undefined ? '–'
                   : fmt(last.queue_events) + ' / ' + bytes(last.queue_bytes)),
                el('td', 'rate', last.events_per_s === undefined ? '–' : fmt(last.events_per_s, 1)),
                errorCell, actions);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    $('no-connectors').classList.toggle('hidden', rows.length > 0);
  }

  function lastSample(history) {
    const s = history.series;
    const n = s.unix_ms.length;
    if (!n) return {};
    const out = {};
    for (const k of Object.keys(s)) out[k] = s[k][n - 1];
    return out;
  }

  function tablesTable(tables) {
    const table = el('table', 'tables');
    const head = el('tr');
    for (const h of ['Table', 'Progress', 'Rows', 'Rows/s', 'ETA', 'Done']) head.append(el('th', null, h));
    table.append(head);
    for (const t of tables || []) {
      const tr = el('tr');
      const bar = el('progress');
      bar.max = 100;
      if (t.percent !== null && t.percent !== undefined) bar.value = t.percent;
      const cell = el('td');
      cell.append(bar, document.createTextNode(' ' + (t.percent === null ? '?' : fmt(t.percent, 1)) + '%'));
      tr.append(el('td', null, t.table), cell,
                el('td', null, fmt(t.rows_done) + ' / ' + (t.rows_total ? fmt(t.rows_total) : '?')),
                el('td', null, fmt(t.rows_per_s)), el('td', null, t.done ? '–' : duration(t.eta_s)),
                el('td', null, t.done ? 'yes' : 'no'));
      table.append(tr);
    }
    return table;
  }

  function select(name) {
    selected = name;
    $('detail').classList.toggle('hidden', !name);
    $('detail-name').textContent = name || '';
    if (name) refresh();
  }

  async function renderDetail(list, histories) {
    if (!selected) return;
    if (!list[selected]) { select(null); return; }
    const history = histories[selected];
    if (history) {
      $('detail-interval').textContent = String(history.interval_ms / 1000);
      SluiceCharts.show(history);
    }
    const slot = list[selected].status && list[selected].status.slot;
    const binlog = list[selected].status && list[selected].status.binlog;
    const slotLine = $('detail-slot');
    slotLine.classList.toggle('hidden', !slot && !binlog);
    if (binlog && !slot) {
      slotLine.className = binlog.level === 'ok' ? 'muted' : (binlog.level === 'critical' ? 'error' : 'warning');
      slotLine.textContent = 'Binlog: needs ' + binlog.needed_file + ' (oldest kept ' + binlog.oldest_file +
        '), ' + bytes(binlog.retained_bytes) + ' behind' +
        (binlog.time_left_s === null ? '' : ', may expire in about ' + duration(binlog.time_left_s)) +
        (binlog.warning ? ' — ' + binlog.warning : '') +
        (Date.now() - binlog.sampled_unix_ms > 60000
          ? ' (sampled at ' + new Date(binlog.sampled_unix_ms).toLocaleTimeString() + ', not since: the connector is not streaming)'
          : '');
    }
    if (slot) {
      slotLine.className = slot.level === 'ok' ? 'muted' : (slot.level === 'critical' ? 'error' : 'warning');
      slotLine.textContent = 'Slot ' + slot.name + ': wal_status ' + slot.wal_status + ', retained ' +
        bytes(slot.retained_bytes) + ', safe ' + (slot.safe_wal_size === null ? 'unlimited' : bytes(slot.safe_wal_size)) +
        (slot.time_left_s === null ? '' : ', dropped by the server in about ' + duration(slot.time_left_s)) +
        (slot.max_retained_wal == null ? '' : ', limit ' + bytes(slot.max_retained_wal) +
          (slot.max_retained_wal_time_left_s == null ? ''
            : slot.max_retained_wal_time_left_s === 0 ? ' (reached)'
            : ' reached in about ' + duration(slot.max_retained_wal_time_left_s))) +
        (slot.warning ? ' — ' + slot.warning : '') +
        // A running source samples its slot, and so does serve while none runs: say how old
        // an older figure is.
        (Date.now() - slot.sampled_unix_ms > 60000
          ? ' (sampled at ' + new Date(slot.sampled_unix_ms).toLocaleTimeString() + ', not since: the connector is not streaming)'
          : '');
    }
    const snapshot = list[selected].status && list[selected].status.snapshot;
    $('detail-tables').replaceChildren(tablesTable(snapshot && snapshot.tables));
    if (editLoadedFor !== selected) {
      const config = await api('GET', '/connectors/' + encodeURIComponent(selected) + '/config');
      editLoaded = config;
      $('edit-config').value = JSON.stringify(config, null, 2);
      $('edit-result').replaceChildren();
      editLoadedFor = selected;
    }
  }

  // ---- syncs ----
  function renderSyncs(syncs) {
    const box = $('syncs');
    if (!syncs.length) { box.replaceChildren(el('p', 'muted', 'No syncs yet.')); return; }
    const items = [];
    for (const s of syncs.slice().reverse()) {
      const div = el('div', 'sync');
      div.dataset.sync = s.id;
      const head = el('div', 'sync-head');
      const p = s.progress || {};
      const pct = s.state === 'SUCCEEDED' || s.state === 'FINISHED' ? 100 : p.percent;
      const bar = el('progress');
      bar.max = 100;
      if (pct !== null && pct !== undefined) bar.value = pct;
      bar.dataset.percent = pct === null || pct === undefined ? '' : String(pct);
      head.append(el('strong', null, s.id), el('span', 'state state-' + s.state, s.state), bar,
                  el('span', 'percent', (pct === null || pct === undefined ? '?' : fmt(pct, 1)) + '%'),
                  el('span', 'muted', 'started ' + new Date(s.started_unix_ms).toLocaleString()));
      div.append(head, tablesTable(p.tables));
      if (s.result) div.append(el('pre', 'trace', JSON.stringify(s.result, null, 1)));
      items.push(div);
    }
    box.replaceChildren(...items);
  }

  // ---- polling ----
  function showBanner(text) {
    $('banner').textContent = text;
    $('banner').classList.toggle('hidden', !text);
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const [root, list, syncs] = await Promise.all([
        api('GET', '/'), api('GET', '/connectors?expand=status&expand=info'), api('GET', '/syncs')]);
      $('login').classList.add('hidden');
      $('app').classList.remove('hidden');
      $('logout').classList.toggle('hidden', !sessionStorage.getItem(TOKEN_KEY));
      $('server').textContent = 'version ' + root.version + ' (' + root.commit + ')';
      const histories = {};
      const latest = {};
      await Promise.all(Object.keys(list).map(async (name) => {
        try {
          histories[name] = await api('GET', '/connectors/' + encodeURIComponent(name) +
                                      '/metrics/history');
          latest[name] = lastSample(histories[name]);
        } catch (e) { /* deleted meanwhile */ }
      }));
      renderConnectors(list, latest);
      await renderDetail(list, histories);
      renderSyncs(syncs);
      $('refreshed').textContent = 'updated ' + new Date().toLocaleTimeString();
      document.body.dataset.refreshed = String(Date.now());
    } catch (e) {
      if (e.status === 401) {
        const had = sessionStorage.getItem(TOKEN_KEY);
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(had ? 'the server refused that token' : '');
        return;  // no polling until a token is entered
      }
      showBanner('cannot reach the API: ' + e.message);
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  // ---- forms ----
  SluiceForms.wire($('create-form'), $('create-config'), $('create-result'), api,
    async (name, config) => {
      if (!name) throw new Error('the connector needs a "name"');
      await api('POST', '/connectors', { name, config });
      $('create-config').value = '';
      select(name);
      return 'connector ' + name + ' created';
    });
  SluiceForms.wire($('edit-form'), $('edit-config'), $('edit-result'), api,
    async (name, config) => {
      // PATCH only what changed (null removes a key), so that secrets shown redacted keep their
      // stored values; the server validates the merged config and names a bad key.
      const target = selected;
      const patch = {};
      for (const [k, v] of Object.entries(config)) if (k !== 'name' && editLoaded[k] !== v) patch[k] = v;
      for (const k of Object.keys(editLoaded)) if (k !== 'name' && !(k in config)) patch[k] = null;
      if (!Object.keys(patch).length) return 'nothing changed';
      await api('PATCH', '/connectors/' + encodeURIComponent(target) + '/config', patch);
      editLoadedFor = null;
      refresh();
      return 'config of ' + target + ' saved (' + Object.keys(patch).join(', ') +
        '); the connector restarts with it';
    }, () => selected, false);
  SluiceForms.wire($('sync-form'), $('sync-config'), $('sync-result'), api,
    async (name, config) => {
      const r = await api('POST', '/syncs', name ? { name, config } : { config });
      refresh();
      return 'sync ' + r.id + ' started';
    });

  refresh();
})();

// The page to try the classifier: POST /predict and /explain for a pasted article, POST /predict/csv
// for an uploaded CSV (its answer read by csv.js). Plain JavaScript, no build step; every text from
// the user or the server goes into the page as text (textContent), never as HTML.
'use strict';
(function () {
  // Topic ids and their Korean names, as kobert_base.topics.TOPICS_KO has them.
  const TOPICS_KO = {
    international: '세계', economy: '경제', society: '사회', sport: '스포츠', it: 'IT과학',
    politics: '정치', entertain: '연예', culture: '생활문화',
  };
  const API = (document.querySelector('meta[name="api-base"]') || {}).content || '';
  const UNREAD_SHOWN = 60;      // words past max_len shown (greyed) before they are only counted
  const CSV_ROWS_SHOWN = 500;   // rows of a CSV's predictions shown in the table
  const TIMEOUT_MS = 300000;    // an answer later than this is given up on, with a message

  let untrained = [];            // topics the weight never saw in training: it cannot predict them

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const topicName = (t) => (TOPICS_KO[t] ? TOPICS_KO[t] + ' (' + t + ')' : String(t));

  function showMessage(text) { $('message').textContent = text; $('message').hidden = false; }
  function clearMessage() { $('message').hidden = true; $('message').textContent = ''; }
  function setStatus(text) { $('status').textContent = text || ''; $('status').hidden = !text; }

  // ------------------------------------------------------------------ talking to the server

  class ApiError extends Error {}

  // The server's reason: its errors are JSON, {"error": "one line", ...}.
  const reason = (body) => (body && typeof body.error === 'string' ? body.error : '');

  async function call(path, init) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(API + path, Object.assign({ signal: controller.signal }, init));
    } catch (e) {
      throw new ApiError(e.name === 'AbortError' ? 'The server took too long to answer; try a shorter text.'
        : 'Cannot reach the server (' + e.message + ').');
    } finally {
      clearTimeout(timer);
    }
    const type = response.headers.get('content-type') || '';
    let body = null;
    let text = '';
    try {
      text = await response.text();
      body = type.includes('json') ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (!response.ok) {  // the server's reason, else one for the status
      const why = reason(body) || { 413: 'too large for the server', 503: 'the server is busy: try again shortly' }[
        response.status] || text.slice(0, 300).trim() || response.statusText || 'the request failed';
      throw new ApiError(why + ' (' + response.status + ')');
    }
    if (body === null && type.includes('json')) throw new ApiError('The server sent a reply that is not JSON.');
    return { body: body, text: text };
  }

  const postJson = (path, payload) => call(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload),
  });

  const READS = { 1: 'the body only', 2: 'the title only' };  // what a weight of mode 1 or 2 reads
  const note = (id, text) => { $(id).textContent = text; $(id).hidden = !text; };

  // The topics the weight never saw in training (each answer's "model", and /info): said in one line.
  function noteWeight(model) {
    untrained = (model && model.untrained_topics) || [];
    note('weight-note', untrained.length ? 'This weight was never trained on ' + untrained.map(topicName).join(', ')
      + ': it cannot predict ' + (untrained.length > 1 ? 'those topics.' : 'that topic.') : '');
  }

  function noteUnread(article, model) {
    const unread = { 1: article.title && 'title', 2: article.body && 'body' }[model && model.mode];
    note('read-note', unread ? 'The ' + unread + ' was not read: this weight reads ' + READS[model.mode] + '.' : '');
  }

  // The first per-article result of /predict ("predictions") or /explain ("explanations"); no text
  // for the weight's mode is an error here.
  function firstOf(reply, key) {
    const body = reply.body;
    if (!body || !Array.isArray(body[key]) || !body[key].length) {
      throw new ApiError('The server sent a reply this page does not understand.');
    }
    noteWeight(body.model);
    const result = body[key][0];
    if (result.topic === null) {
      const reads = READS[body.model && body.model.mode];
      throw new ApiError('Nothing to classify: ' + result.reason + (reads ? ' (this weight reads ' + reads + ').' : '.'));
    }
    return result;
  }

  // ------------------------------------------------------------------ drawing

  function drawBars(result) {
    const bars = $('bars');
    bars.replaceChildren();
    // /explain's "probabilities" ({topic: p}) or /predict's "top_k" ([{topic, probability}]).
    const pairs = (result.probabilities ? Object.entries(result.probabilities)
      : result.top_k.map((t) => [t.topic, t.probability])).sort((a, b) => b[1] - a[1]);
    for (const [topic, p] of pairs) {
      const grey = untrained.includes(topic) ? ' untrained' : '';  // the weight never saw it: greyed out
      const kind = (topic === result.topic ? ' best' : '') + grey;
      const track = el('span', 'track' + grey);
      const fill = el('span', 'fill');
      fill.style.width = (100 * Math.min(Math.max(p, 0), 1)).toFixed(1) + '%';
      track.appendChild(fill);
      const cells = [el('span', 'name' + kind, topicName(topic)), track, el('span', 'num' + kind, p.toFixed(3))];
      if (grey) cells.forEach((c) => { c.title = 'never trained on: cannot be predicted'; });
      bars.append(...cells);
    }
    $('result-topic').textContent = topicName(result.topic) + ' ' + result.probability.toFixed(3);
  }

  function shade(value, scale) {
    if (!scale || !value) return 'transparent';
    const alpha = 0.08 + 0.72 * Math.min(Math.abs(value) / scale, 1);
    return 'rgba(' + (value > 0 ? '37,99,235' : '220,38,38') + ',' + alpha.toFixed(3) + ')';
  }

  // How an answer's attributions were computed (its "method" and "baseline"; integrated gradients
  // where a server does not say): occlusion's values are drops of the topic's probability.
  const OCCLUDED = { remove: 'removed', mask: 'replaced by [MASK]', pad: 'replaced by [PAD]' };
  function noteMethod(method, baseline) {
    const occlusion = method === 'occlusion';
    $('method').textContent = occlusion ? 'word occlusion: how much the topic\'s probability drops when the word is '
      + (OCCLUDED[baseline] || 'taken out') : 'integrated gradients';
    $('steps-field').hidden = occlusion;  // occlusion has no integration path
  }

  function drawWords(result) {
    noteMethod(result.method, result.baseline);
    const box = $('words');
    box.replaceChildren();
    const { words, attributions, words_read: read } = result;
    const scale = attributions.slice(0, read).reduce((m, a) => Math.max(m, Math.abs(a)), 0);
    const parts = [];
    words.slice(0, read).forEach((word, i) => {
      const span = el('span', 'w', word);
      span.style.background = shade(attributions[i], scale);
      span.title = (attributions[i] >= 0 ? '+' : '') + attributions[i].toFixed(4);
      parts.push(span);
    });
    const unread = words.slice(read);
    unread.slice(0, UNREAD_SHOWN).forEach((word) => {
      const span = el('span', 'w unread', word);
      span.title = 'not read (past the model\'s max_len)';
      parts.push(span);
    });
    parts.forEach((span, i) => { if (i) box.append(' '); box.append(span); });
    const notes = [];
    if (result.target && result.target !== result.topic) {
      notes.push('Words shaded for ' + topicName(result.target) + '.');
    }
    if (unread.length) {
      notes.push(read + ' of ' + words.length + ' words were read (the model reads a text\'s start); the rest count 0'
        + (unread.length > UNREAD_SHOWN ? ', ' + (unread.length - UNREAD_SHOWN) + ' of them not shown.' : '.'));
    }
    $('words-note').textContent = notes.join(' ');
  }

  // ------------------------------------------------------------------ the article form

  const setBusy = (busy) => { $('classify').disabled = busy; $('classify-csv').disabled = busy; };
  const failed = (e) => showMessage(e instanceof ApiError ? e.message
    : 'Something went wrong on this page: ' + e.message);

  async function explainArticle(article) {
    const payload = { articles: [article] };
    const target = $('target').value;
    if (target) payload.target = target;
    const steps = Number($('steps').value);
    if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
      throw new ApiError('Steps must be a whole number from 1 to 1000.');
    }
    payload.steps = steps;
    setStatus('Explaining: finding the words behind the topic...');
    const reply = await postJson('/explain', payload);
    const result = firstOf(reply, 'explanations');
    noteUnread(article, reply.body.model);
    drawBars(result);
    drawWords(result);
  }

  async function onArticle(event) {
    event.preventDefault();
    clearMessage();
    const article = { title: $('title').value.trim(), body: $('body').value.trim() };
    if (!article.title && !article.body) {
      showMessage('Enter a title or a body (or both) first.');
      return;
    }
    setBusy(true);
    $('csv-result').hidden = true;
    $('result').hidden = true;
    try {
      setStatus('Classifying...');
      const reply = await postJson('/predict', { articles: [article], top_k: 8 });
      const predicted = firstOf(reply, 'predictions');
      noteUnread(article, reply.body.model);
      $('words').replaceChildren();
      $('words-note').textContent = '';
      drawBars(predicted);
      $('result').hidden = false;
      await explainArticle(article);
    } catch (e) {
      failed(e);
      if (!$('words').childElementCount) $('words-note').textContent = 'No explanation: see the message above.';
    } finally {
      setStatus('');
      setBusy(false);
    }
  }

  // ------------------------------------------------------------------ the CSV form

  function drawCsv(rows) {
    const tbody = $('csv-table').querySelector('tbody');
    tbody.replaceChildren();
    rows.slice(0, CSV_ROWS_SHOWN).forEach((row, i) => {
      // main.py's columns: the input's, then predicted and probability (empty for a row without text).
      const topic = row.predicted;
      const p = row.probability ? Number(row.probability) : NaN;
      const article = { title: row.title || '', body: row.cleanBody || '' };
      const tr = el('tr');
      tr.append(el('td', 'num', String(i + 1)), el('td', 'text', article.title || article.body),
        el('td', '', topic ? topicName(topic) : '(no text)'), el('td', 'num', Number.isNaN(p) ? '' : p.toFixed(3)));
      const cell = el('td');
      if (topic && (article.title || article.body)) {
        cell.appendChild(Object.assign(el('button', 'small', 'Why?'), { type: 'button', onclick: () => onRow(article) }));
      }
      tr.appendChild(cell);
      tbody.appendChild(tr);
    });
    $('csv-note').textContent = rows.length + ' rows' + (rows.length > CSV_ROWS_SHOWN
      ? ', the first ' + CSV_ROWS_SHOWN + ' shown.' : '.') + ' Choose "Why?" to explain a row.';
    $('csv-result').hidden = false;
  }

  async function onRow(article) {
    clearMessage();
    $('title').value = article.title;
    $('body').value = article.body;
    setBusy(true);
    try {
      $('result').hidden = false;
      await explainArticle(article);
      $('result').scrollIntoView();
    } catch (e) {
      failed(e);
    } finally {
      setStatus('');
      setBusy(false);
    }
  }

  async function onCsv(event) {
    event.preventDefault();
    clearMessage();
    const file = $('csv').files[0];
    if (!file) { showMessage('Choose a CSV file first.'); return; }
    if (!file.size) { showMessage(file.name + ' is empty.'); return; }
    const form = new FormData();
    form.append('file', file, file.name);
    setBusy(true);
    $('result').hidden = true;
    try {
      setStatus('Classifying ' + file.name + '...');
      const rows = window.parseCsv((await call('/predict/csv', { method: 'POST', body: form })).text);
      if (!rows.length) throw new ApiError('The server sent no rows back.');
      drawCsv(rows);
    } catch (e) {
      $('csv-result').hidden = true;
      failed(e);
    } finally {
      setStatus('');
      setBusy(false);
    }
  }

  function init() {
    $('target').append(...Object.keys(TOPICS_KO).map((t) => Object.assign(el('option', '', topicName(t)), { value: t })));
    $('article-form').addEventListener('submit', onArticle);
    $('csv-form').addEventListener('submit', onCsv);
    // Said at once when the model is ready; else with the first answer.
    call('/info').then((reply) => {
      noteWeight(reply.body);
      if (reply.body && reply.body.explain_method) noteMethod(reply.body.explain_method);  // before any answer
    }, () => {});
    window.addEventListener('unhandledrejection', (e) => showMessage('Something went wrong on this page: '
      + (e.reason && e.reason.message ? e.reason.message : e.reason)));
  }

  init();
}());

// servegate dashboard: each live section follows its server-sent event stream. The stream
// replays the section's whole history first, so the page is built from events alone.
// Text goes into the page through textContent only, never as HTML.
(function () {
  'use strict';

  var maxLogLines = 2000;

  function field(sec, name) { return sec.querySelector('[data-field="' + name + '"]'); }

  function setText(el, text) { if (el) { el.textContent = text; } }

  function slug(s) { return String(s).replace(/ /g, '-'); }

  function setState(sec, state) {
    var el = field(sec, 'state');
    if (!el) { return; }
    el.textContent = state;
    el.className = 'state state-' + slug(state);
  }

  // appendLog adds lines to a log pane, keeping it scrolled to the end if it was there.
  function appendLog(pre, source, line) {
    if (!pre) { return; }
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    var text = (source ? '[' + source + '] ' : '') + line + '\n';
    pre.appendChild(document.createTextNode(text));
    while (pre.childNodes.length > maxLogLines) { pre.removeChild(pre.firstChild); }
    if (atEnd) { pre.scrollTop = pre.scrollHeight; }
  }

  function fmt(v) {
    if (typeof v !== 'number' || !isFinite(v)) { return '–'; }
    if (Math.abs(v) >= 100) { return v.toFixed(0); }
    return v.toPrecision(3);
  }

  var live = {
    server: {
      status: function (sec, d) {
        setState(sec, d.state);
        if (d.url) { setText(field(sec, 'url'), d.url); }
        if (d.model) { setText(field(sec, 'model'), d.model); }
        setText(field(sec, 'version'), d.version || '–');
        setText(field(sec, 'pid'), d.pid ? String(d.pid) : '–');
        var err = field(sec, 'error');
        if (err) { err.textContent = d.error || ''; err.hidden = !d.error; }
        var busy = d.state === 'starting' || d.state === 'ready' || d.state === 'stopping';
        var start = sec.querySelector('[data-action=start]');
        var stop = sec.querySelector('[data-action=stop]');
        if (start) { start.disabled = busy; }
        if (stop) { stop.disabled = !(d.state === 'starting' || d.state === 'ready'); }
      },
      log: function (sec, d) { appendLog(field(sec, 'log'), d.source, d.line); }
    },

    gpu: {
      sample: function (sec, d) {
        (d.devices || []).forEach(function (s) {
          var row = sec.querySelector('tr[data-device="' + s.device + '"]');
          if (!row) { return; }
          ['memory_used_mb', 'gpu_utilization_pct', 'power_w', 'temperature_c'].forEach(function (k) {
            setText(row.querySelector('[data-field="' + k + '"]'), fmt(s[k]));
          });
        });
        // Redraw the charts at most once per sample; the server renders them.
        sec.querySelectorAll('img[data-chart]').forEach(function (img) {
          img.src = img.getAttribute('data-chart') + '?t=' + d.t_sec;
        });
      },
      error: function (sec, d) { var p = document.createElement('p'); p.className = 'bad'; p.textContent = d.error; sec.prepend(p); }
    },

    run: {
      status: function (sec, d) {
        setState(sec, d.state);
        var bar = field(sec, 'progress');
        if (bar) { bar.max = d.total; bar.value = d.done; }
        setText(field(sec, 'count'), d.done + ' / ' + d.total + ' points');
        if (d.state !== 'running') {
          var cancel = field(sec, 'cancel');
          if (cancel) { cancel.hidden = true; }
          setText(field(sec, 'running'), '');
        }
        var msg = field(sec, 'message');
        if (msg && (d.message || d.results)) {
          msg.textContent = (d.message ? d.message + '. ' : '') + (d.results ? 'Results: ' + d.results : '');
          msg.hidden = false;
          msg.className = d.state === 'passed' ? 'good' : (d.state === 'running' ? '' : 'warn');
        }
      },
      running: function (sec, d) { setText(field(sec, 'running'), 'measuring ' + d.test); },
      log: function (sec, d) { appendLog(field(sec, 'log'), '', d.line); },
      point: function (sec, d) {
        var table = field(sec, 'points');
        var tr = document.createElement('tr');
        tr.className = 'outcome-' + d.outcome;
        tr.setAttribute('data-point', d.test);
        function td(text, cls) {
          var c = document.createElement('td');
          c.textContent = text;
          if (cls) { c.className = cls; }
          tr.appendChild(c);
        }
        td(d.scenario || '', 'l');
        td(d.point, 'l');
        td(d.outcome, 'l outcome');
        td(d.elapsed_s.toFixed(1));
        td(d.requests ? String(d.requests) : '–');
        td(d.trials ? String(d.trials) : '–');
        table.querySelectorAll('th[data-metric]').forEach(function (th) {
          var k = th.getAttribute('data-metric');
          td(d.metrics ? fmt(d.metrics[k]) : '–');
        });
        var notes = [];
        if (d.invalid) { notes.push('INVALID: ' + d.invalid); }
        (d.warnings || []).forEach(function (w) { notes.push(w); });
        td(notes.join('; '), 'l');
        table.appendChild(tr);
      },
      charts: function (sec, d) {
        var box = field(sec, 'charts');
        var run = sec.getAttribute('data-run');
        field(sec, 'nocharts').hidden = d.length > 0;
        d.forEach(function (c) {
          var fig = box.querySelector('figure[data-chart="' + c.file + '"]');
          if (!fig) {
            fig = document.createElement('figure');
            fig.setAttribute('data-chart', c.file);
            var cap = document.createElement('figcaption');
            cap.textContent = c.title;
            var img = document.createElement('img');
            img.alt = c.title;
            fig.appendChild(cap);
            fig.appendChild(img);
            box.appendChild(fig);
          }
          fig.querySelector('img').src = '/run/' + encodeURIComponent(run) + '/charts/' + encodeURIComponent(c.file) + '.svg?v=' + c.version;
        });
      }
    }
  };

  document.querySelectorAll('[data-events]').forEach(function (sec) {
    var handlers = live[sec.getAttribute('data-live')] || {};
    var es = new EventSource(sec.getAttribute('data-events'));
    Object.keys(handlers).forEach(function (type) {
      es.addEventListener(type, function (e) { handlers[type](sec, JSON.parse(e.data)); });
    });
    // The log has ended (a finished run): close rather than let EventSource reconnect.
    es.addEventListener('end', function () { es.close(); sec.setAttribute('data-ended', ''); });
  });
})();

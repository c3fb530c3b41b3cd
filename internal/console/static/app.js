// Live view of the ferry admin dashboard: one server-sent event stream per
// page. Every value is set with textContent, never parsed as HTML.
'use strict';
(function () {
  const body = document.getElementById('sessions-body');
  if (!body || !window.EventSource) {
    return;
  }
  const meta = document.querySelector('meta[name="csrf"]');
  const csrf = meta ? meta.content : '';
  const bansBody = document.getElementById('bans-body');
  const count = document.getElementById('session-count');

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) {
      e.textContent = text;
    }
    if (cls) {
      e.className = cls;
    }
    return e;
  }

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }

  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + 's ago' : Math.floor(s / 60) + 'm' + (s % 60) + 's ago';
  }

  function post(action, label, cls) {
    const f = el('form');
    f.method = 'post';
    f.action = action;
    const h = el('input');
    h.type = 'hidden';
    h.name = 'csrf';
    h.value = csrf;
    f.appendChild(h);
    f.appendChild(el('button', label, cls));
    return f;
  }

  function row(s) {
    const tr = el('tr');
    tr.dataset.id = s.id;
    tr.appendChild(el('td', s.id));
    tr.appendChild(el('td', s.user, 'user'));
    tr.appendChild(el('td', s.remote));
    tr.appendChild(el('td', ago(s.since)));
    tr.appendChild(el('td', s.dir, 'dir'));
    tr.appendChild(el('td', s.tls ? 'yes' : 'no'));
    const x = el('td', undefined, 'transfer');
    if (s.transfer) {
      const t = s.transfer;
      x.appendChild(el('span', t.direction + ' ' + t.path, 'path'));
      x.appendChild(document.createTextNode(' '));
      if (t.size >= 0) {
        const p = el('progress');
        p.max = Math.max(t.size, 1);
        p.value = t.bytes;
        x.appendChild(p);
        x.appendChild(document.createTextNode(' '));
      }
      const b = el('span', bytes(t.bytes), 'bytes');
      b.dataset.bytes = String(t.bytes);
      x.appendChild(b);
      x.appendChild(document.createTextNode(' at '));
      x.appendChild(el('span', bytes(t.rate) + '/s', 'rate'));
    }
    tr.appendChild(x);
    const a = el('td', undefined, 'actions');
    const id = encodeURIComponent(s.id);
    a.appendChild(post('/sessions/' + id + '/close', 'Close', 'close'));
    if (s.transfer) {
      a.appendChild(post('/sessions/' + id + '/cancel', 'Cancel transfer', 'cancel'));
    }
    tr.appendChild(a);
    return tr;
  }

  function banRow(b) {
    const tr = el('tr');
    tr.appendChild(el('td', b.addr));
    tr.appendChild(el('td', b.until));
    const td = el('td');
    td.appendChild(post('/bans/' + encodeURIComponent(b.addr) + '/delete', 'Unban'));
    tr.appendChild(td);
    return tr;
  }

  const es = new EventSource('/events');
  es.onmessage = function (m) {
    const d = JSON.parse(m.data);
    body.replaceChildren.apply(body, d.sessions.map(row));
    count.textContent = String(d.sessions.length);
    if (bansBody) {
      bansBody.replaceChildren.apply(bansBody, d.bans.map(banRow));
    }
  };
})();

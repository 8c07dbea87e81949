// The overview's live refresh: the server sends the re-rendered overview over server-sent events
// (its own escaped HTML) and this swaps it in. Without script the page still works (reload).
(function () {
  var target = document.getElementById('overview');
  if (!target || !window.EventSource) return;
  var source = new EventSource(target.getAttribute('data-events'));
  source.addEventListener('overview', function (event) {
    target.innerHTML = event.data;
    document.body.setAttribute('data-live', 'on');
  });
  source.onerror = function () { document.body.setAttribute('data-live', 'retrying'); };
})();

// The case list's live updates: the server announces each case event over server-sent events
// (the case's reference and the event's kind only) and this re-fetches the table's rows for the
// list's own filters and page, at most once a second, and swaps them in. Without script the list
// is what was read at load (reload for more).
(function () {
  var table = document.getElementById('cases');
  if (!table || !table.getAttribute('data-events') || !window.EventSource || !window.fetch) return;
  var body = table.tBodies[0];
  var total = document.getElementById('case-total');
  var rowsUrl = table.getAttribute('data-rows');
  var busy = false;
  var wanted = false;
  var last = 0;
  var timer = null;
  function state(s) { document.body.setAttribute('data-live', s); }
  function refresh() {
    timer = null;
    if (busy) { wanted = true; return; }
    busy = true;
    last = Date.now();
    fetch(rowsUrl, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) {
        // Signed out: the answer is the sign-in page, not rows.
        if (!res.ok || res.redirected) throw new Error('rows ' + res.status);
        var n = res.headers.get('x-case-total');
        return res.text().then(function (html) {
          body.innerHTML = html;
          if (total && n !== null) total.textContent = n;
          state('on');
        });
      })
      .catch(function () { state('retrying'); })
      .then(function () {
        busy = false;
        if (wanted) { wanted = false; schedule(); }
      });
  }
  function schedule() {
    if (timer) return;
    timer = setTimeout(refresh, Math.max(150, 1000 - (Date.now() - last)));
  }
  var source = new EventSource(table.getAttribute('data-events'));
  source.addEventListener('case', schedule);
  source.addEventListener('stale', schedule);
  source.onopen = function () { state('on'); };
  source.onerror = function () { state('retrying'); };
})();

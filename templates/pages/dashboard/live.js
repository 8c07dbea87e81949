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

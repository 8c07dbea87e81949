// Times in the viewer's own time zone. The server writes each as <time datetime="ISO">, its text
// in UTC (DISPLAY_TIME_ZONE unset, so pages load this file); this rewrites the text in the
// browser's zone, the same shape with the zone named, and again for parts swapped in live.
(function () {
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var base = { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short', hourCycle: 'h23' };
  var withSeconds = Object.assign({ second: '2-digit' }, base);
  var formats = { short: new Intl.DateTimeFormat('en-GB', base), long: new Intl.DateTimeFormat('en-GB', withSeconds) };
  function rewrite(root) {
    var times = root.querySelectorAll ? root.querySelectorAll('time[datetime]') : [];
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      if (t.getAttribute('data-local') === 'done') continue;
      var at = new Date(t.getAttribute('datetime'));
      if (isNaN(at.getTime())) continue;
      var format = /\d\d:\d\d:\d\d/.test(t.textContent) ? formats.long : formats.short;
      t.setAttribute('title', t.textContent);
      t.textContent = format.format(at);
      t.setAttribute('data-local', 'done');
    }
  }
  rewrite(document);
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {
      for (var i = 0; i < changes.length; i++) rewrite(changes[i].target);
    }).observe(document.body, { childList: true, subtree: true });
  }
})();

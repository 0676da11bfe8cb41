// Live flow drawing: follows the flow page's event stream and recolours
// members and edges in place (class and text only, never markup), so the
// reserved drawing never moves. A new graph revision reloads the page for
// a new layout.
(function () {
  'use strict';
  var box = document.getElementById('flow-graph');
  if (!box || !window.EventSource) { return; }
  var revision = box.getAttribute('data-revision');
  var source = new EventSource(box.getAttribute('data-live'));

  function setState(el, state) {
    if (!el) { return; }
    el.setAttribute('class', 'state st-' + state);
    el.textContent = state;
  }

  function member(m) {
    var node = box.querySelector('g.dag-node[data-id="' + CSS.escape(m.id) + '"]');
    if (node) {
      node.setAttribute('class', 'dag-node st-' + m.state);
      var sub = node.querySelector('text.dag-sub');
      if (sub) { sub.textContent = m.state; }
    }
    var row = document.querySelector('tr[data-member="' + CSS.escape(m.id) + '"] .state');
    setState(row, m.state);
  }

  function edge(e) {
    var sel = 'path.dag-edge[data-from="' + CSS.escape(e.from) + '"][data-to="' + CSS.escape(e.to) + '"]';
    var path = box.querySelector(sel);
    if (!path) { return; }
    path.setAttribute('class', 'dag-edge edge-' + e.state);
    path.setAttribute('marker-end', 'url(#dag-arrow-' + e.state + ')');
  }

  source.addEventListener('flow', function (ev) {
    var f = JSON.parse(ev.data);
    if (String(f.revision) !== revision) {
      source.close();
      window.location.reload();
      return;
    }
    setState(document.getElementById('flow-state'), f.state);
    var counts = document.getElementById('flow-counts');
    if (counts) { counts.textContent = f.counts; }
    f.members.forEach(member);
    f.edges.forEach(edge);
  });
  source.addEventListener('error', function (ev) {
    if (ev.data) { source.close(); }
  });
}());

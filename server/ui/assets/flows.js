// Live flow drawing: follows the flow page's event stream (its own
// data-flow-live attribute, so ui.js does not open a second one) and recolours
// members and edges in place (class and text only, never markup), so the
// reserved drawing never moves. A new graph revision reloads the page for
// a new layout.
(function () {
  'use strict';
  var box = document.getElementById('flow-graph');
  if (!box || !window.EventSource) { return; }
  var revision = box.getAttribute('data-revision');
  var source = new EventSource(box.getAttribute('data-flow-live'));

  function setState(el, state) {
    if (!el) { return; }
    el.setAttribute('class', 'state st-' + state);
    el.textContent = state;
  }

  function member(m) {
    var id = CSS.escape(m.execution_id);
    var node = box.querySelector('g.dag-node[data-id="' + id + '"]');
    if (node) {
      node.setAttribute('class', 'dag-node st-' + m.public_state);
      var sub = node.querySelector('text.dag-sub');
      if (sub) { sub.textContent = m.public_state; }
    }
    setState(document.querySelector('tr[data-member="' + id + '"] .state'), m.public_state);
  }

  function edge(e) {
    var sel = 'path.dag-edge[data-from="' + CSS.escape(e.upstream_execution_id) +
      '"][data-to="' + CSS.escape(e.downstream_execution_id) + '"]';
    var path = box.querySelector(sel);
    if (!path) { return; }
    path.setAttribute('class', 'dag-edge edge-' + e.state);
    path.setAttribute('marker-end', 'url(#dag-arrow-' + e.state + ')');
  }

  source.addEventListener('flow', function (ev) {
    var f = JSON.parse(ev.data);
    if (String(f.graph_revision) !== revision) {
      source.close();
      window.location.reload();
      return;
    }
    setState(document.getElementById('flow-state'), f.public_flow_state);
    var counts = document.getElementById('flow-counts');
    if (counts) { counts.textContent = f.counts; }
    f.members.forEach(member);
    f.edges.forEach(edge);
  });
  source.addEventListener('failure', function (ev) {
    if (ev.data) { source.close(); }
  });
}());

// Package dag lays out a directed acyclic graph in layers and draws it as
// SVG for the dashboard's flow pages. The layout is pure and
// deterministic: the same nodes and edges in the same order give the same
// coordinates, so a re-render that only changes states never moves a node.
//
// Layering is by longest path from the roots, the order within a layer is
// improved by a few barycenter sweeps, and each layer is centred in the
// widest one. Bad input never panics: edges to unknown nodes, self-loops
// and duplicate ids are dropped, and a cycle is broken at the first node
// (in input order) left when no root remains.
package dag

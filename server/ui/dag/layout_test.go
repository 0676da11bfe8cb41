package dag

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func nodesN(n int) []Node {
	ns := make([]Node, n)
	for i := range ns {
		ns[i] = Node{ID: fmt.Sprintf("n%d", i), Label: fmt.Sprintf("n%d", i), Class: "waiting"}
	}
	return ns
}

// randomDAG draws edges only from a lower to a higher index: acyclic.
func randomDAG(seed uint64, n, m int) ([]Node, []Edge) {
	r := rand.New(rand.NewPCG(seed, 1))
	es := make([]Edge, 0, m)
	for range m {
		a, b := r.IntN(n), r.IntN(n)
		if a == b {
			continue
		}
		es = append(es, Edge{From: fmt.Sprintf("n%d", min(a, b)), To: fmt.Sprintf("n%d", max(a, b)), Class: "unresolved"})
	}
	return nodesN(n), es
}

func byID(l Layout) map[string]PlacedNode {
	m := map[string]PlacedNode{}
	for _, n := range l.Nodes {
		m[n.ID] = n
	}
	return m
}

// requireLayered checks the layering invariants: every edge goes down at
// least one layer, nodes never overlap, all lie inside the box.
func requireLayered(t *testing.T, l Layout) {
	t.Helper()
	pos := byID(l)
	for _, e := range l.Edges {
		require.Greater(t, pos[e.To].Layer, pos[e.From].Layer, "edge %s→%s", e.From, e.To)
		require.Greater(t, pos[e.To].Y, pos[e.From].Y+NodeHeight-1)
	}
	cells := map[[2]int]string{}
	for _, n := range l.Nodes {
		key := [2]int{n.Layer, n.Order}
		require.Empty(t, cells[key], "%s and %s share a slot", cells[key], n.ID)
		cells[key] = n.ID
		require.GreaterOrEqual(t, n.X, 0)
		require.LessOrEqual(t, n.X+NodeWidth, l.Width)
		require.LessOrEqual(t, n.Y+NodeHeight, l.Height)
	}
	requireNoOverlap(t, l.Nodes)
}

func requireNoOverlap(t *testing.T, ns []PlacedNode) {
	t.Helper()
	rows := map[int][]PlacedNode{}
	for _, n := range ns {
		rows[n.Y] = append(rows[n.Y], n)
	}
	for _, row := range rows {
		xs := map[int]bool{}
		for _, n := range row {
			for x := range xs {
				require.False(t, n.X < x+NodeWidth && x < n.X+NodeWidth, "overlap at x=%d and x=%d", n.X, x)
			}
			xs[n.X] = true
		}
	}
}

func TestLayersFollowLongestPath(t *testing.T) {
	// a → b → c and a → c: c sits below b, not beside it.
	l := Compute(nodesN(3), []Edge{{From: "n0", To: "n1"}, {From: "n1", To: "n2"}, {From: "n0", To: "n2"}})
	pos := byID(l)
	require.Equal(t, []int{0, 1, 2}, []int{pos["n0"].Layer, pos["n1"].Layer, pos["n2"].Layer})
	requireLayered(t, l)
}

func TestDisconnectedAndSingleNodes(t *testing.T) {
	l := Compute(nodesN(1), nil)
	require.Len(t, l.Nodes, 1)
	require.Equal(t, NodeWidth+2*margin, l.Width)

	l = Compute(nodesN(5), []Edge{{From: "n0", To: "n1"}, {From: "n3", To: "n4"}})
	requireLayered(t, l)
	pos := byID(l)
	require.Equal(t, 0, pos["n2"].Layer, "an isolated node is a root")
	require.Equal(t, 1, pos["n4"].Layer)
}

func TestEmptyGraph(t *testing.T) {
	l := Compute(nil, []Edge{{From: "x", To: "y"}})
	require.Empty(t, l.Nodes)
	require.Empty(t, l.Edges)
	_, err := SVG(l, "empty")
	require.NoError(t, err)
}

func TestBadInputIsDroppedNotFatal(t *testing.T) {
	ns := append(nodesN(3), Node{ID: "n1", Label: "duplicate"})
	es := []Edge{{From: "n0", To: "n0"}, {From: "n0", To: "ghost"}, {From: "n0", To: "n1"}, {From: "n0", To: "n1"}}
	l := Compute(ns, es)
	require.Len(t, l.Nodes, 3)
	require.Equal(t, "n1", l.Nodes[1].Label, "the first of a duplicate id wins")
	require.Len(t, l.Edges, 1)
	requireLayered(t, l)
}

func TestCycleIsBrokenWithoutPanic(t *testing.T) {
	es := []Edge{{From: "n0", To: "n1"}, {From: "n1", To: "n2"}, {From: "n2", To: "n0"}, {From: "n3", To: "n0"}}
	l := Compute(nodesN(4), es)
	require.Len(t, l.Nodes, 4)
	require.Len(t, l.Edges, 4)
	pos := byID(l)
	require.Equal(t, 0, pos["n3"].Layer)
	require.Less(t, pos["n0"].Layer, pos["n1"].Layer)
	require.Less(t, pos["n1"].Layer, pos["n2"].Layer)
	requireNoOverlap(t, l.Nodes)
}

func TestBarycenterUntanglesCrossings(t *testing.T) {
	// Upstreams a0 a1, downstreams listed in the crossing order b1 b0.
	ns := []Node{{ID: "a0"}, {ID: "a1"}, {ID: "b1"}, {ID: "b0"}}
	l := Compute(ns, []Edge{{From: "a0", To: "b0"}, {From: "a1", To: "b1"}})
	pos := byID(l)
	require.Less(t, pos["b0"].X, pos["b1"].X)
	require.Zero(t, crossings(l))
}

// crossings counts pairs of edges between the same two layers whose ends
// are in opposite orders.
func crossings(l Layout) int {
	pos := byID(l)
	n := 0
	for i, e := range l.Edges {
		for _, f := range l.Edges[i+1:] {
			if pos[e.From].Layer != pos[f.From].Layer || pos[e.To].Layer != pos[f.To].Layer {
				continue
			}
			if (pos[e.From].X-pos[f.From].X)*(pos[e.To].X-pos[f.To].X) < 0 {
				n++
			}
		}
	}
	return n
}

func TestDeterministic(t *testing.T) {
	ns, es := randomDAG(7, 200, 600)
	a, b := Compute(ns, es), Compute(ns, es)
	require.Equal(t, a, b)
	sa, err := SVG(a, "x")
	require.NoError(t, err)
	sb, _ := SVG(b, "x")
	require.Equal(t, sa, sb)
}

func TestLargeFlow(t *testing.T) {
	ns, es := randomDAG(42, 1000, 5000)
	l := Compute(ns, es)
	require.Len(t, l.Nodes, 1000)
	requireLayered(t, l)
	svg, err := SVG(l, "large")
	require.NoError(t, err)
	require.Equal(t, 1000, strings.Count(string(svg), `class="dag-node st-`))
}

func TestWideAndDeep(t *testing.T) {
	var chain []Edge
	for i := range 999 {
		chain = append(chain, Edge{From: fmt.Sprintf("n%d", i), To: fmt.Sprintf("n%d", i+1)})
	}
	l := Compute(nodesN(1000), chain)
	requireLayered(t, l)
	require.Equal(t, 999, byID(l)["n999"].Layer)

	var fan []Edge
	for i := 1; i < 1000; i++ {
		fan = append(fan, Edge{From: "n0", To: fmt.Sprintf("n%d", i)})
	}
	requireLayered(t, Compute(nodesN(1000), fan))
}

package dag

// graph is the cleaned input: nodes by index, edges between indexes.
type graph struct {
	nodes []Node
	edges []Edge  // kept edges, input order
	from  []int   // edges[i] upstream index
	to    []int   // edges[i] downstream index
	succ  [][]int // node → downstream nodes
	pred  [][]int // node → upstream nodes
	layer []int   // node → layer
	order []int   // node → position in its layer
}

// newGraph indexes nodes (the first of a duplicate id wins) and keeps the
// edges between known, distinct nodes, each pair once.
func newGraph(nodes []Node, edges []Edge) *graph {
	g := &graph{}
	idx := make(map[string]int, len(nodes))
	for _, n := range nodes {
		if _, dup := idx[n.ID]; dup {
			continue
		}
		idx[n.ID] = len(g.nodes)
		g.nodes = append(g.nodes, n)
	}
	g.succ = make([][]int, len(g.nodes))
	g.pred = make([][]int, len(g.nodes))
	seen := make(map[[2]int]bool, len(edges))
	for _, e := range edges {
		u, okU := idx[e.From]
		d, okD := idx[e.To]
		if !okU || !okD || u == d || seen[[2]int{u, d}] {
			continue
		}
		seen[[2]int{u, d}] = true
		g.edges = append(g.edges, e)
		g.from = append(g.from, u)
		g.to = append(g.to, d)
		g.succ[u] = append(g.succ[u], d)
		g.pred[d] = append(g.pred[d], u)
	}
	return g
}

// topoOrder is Kahn's algorithm; when only nodes on cycles remain, the
// first of them in input order is taken as if it were a root.
func (g *graph) topoOrder() []int {
	n := len(g.nodes)
	indeg := make([]int, n)
	for _, d := range g.to {
		indeg[d]++
	}
	done := make([]bool, n)
	order := make([]int, 0, n)
	var queue []int
	for i := range n {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	next := 0 // lowest index not yet taken, for breaking cycles
	for len(order) < n {
		if len(queue) == 0 {
			for done[next] {
				next++
			}
			queue = append(queue, next)
			indeg[next] = 0
		}
		i := queue[0]
		queue = queue[1:]
		if done[i] {
			continue
		}
		done[i] = true
		order = append(order, i)
		for _, d := range g.succ[i] {
			if indeg[d]--; indeg[d] == 0 && !done[d] {
				queue = append(queue, d)
			}
		}
	}
	return order
}

// assignLayers gives every node the length of the longest path from a
// root to it (edges that go back in topological order, only on a cycle,
// are ignored) and returns the nodes of each layer in input order.
func (g *graph) assignLayers() [][]int {
	topo := g.topoOrder()
	rank := make([]int, len(g.nodes))
	for k, i := range topo {
		rank[i] = k
	}
	g.layer = make([]int, len(g.nodes))
	depth := 0
	for _, i := range topo {
		for _, u := range g.pred[i] {
			if rank[u] < rank[i] && g.layer[u]+1 > g.layer[i] {
				g.layer[i] = g.layer[u] + 1
			}
		}
		depth = max(depth, g.layer[i]+1)
	}
	layers := make([][]int, depth)
	for i := range g.nodes {
		layers[g.layer[i]] = append(layers[g.layer[i]], i)
	}
	return layers
}

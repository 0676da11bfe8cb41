package dag

import (
	"cmp"
	"slices"
)

// orderLayers reduces edge crossings with barycenter sweeps: downwards by
// the mean position of each node's upstreams, then upwards by its
// downstreams. Positions are compared as fractions of their layer's width
// so layers of different sizes line up. Ties keep the current order.
func orderLayers(g *graph, layers [][]int) {
	g.order = make([]int, len(g.nodes))
	renumber(g, layers)
	for range sweeps {
		for l := 1; l < len(layers); l++ {
			sortByBarycenter(g, layers, l, g.pred)
		}
		for l := len(layers) - 2; l >= 0; l-- {
			sortByBarycenter(g, layers, l, g.succ)
		}
	}
}

func renumber(g *graph, layers [][]int) {
	for _, layer := range layers {
		for k, i := range layer {
			g.order[i] = k
		}
	}
}

// sortByBarycenter reorders layer l by the mean relative position of each
// node's neighbours; a node without neighbours keeps its own position.
func sortByBarycenter(g *graph, layers [][]int, l int, neighbours [][]int) {
	layer := layers[l]
	key := make(map[int]float64, len(layer))
	for _, i := range layer {
		key[i] = relPos(g, layers, i)
		if len(neighbours[i]) == 0 {
			continue
		}
		sum := 0.0
		for _, j := range neighbours[i] {
			sum += relPos(g, layers, j)
		}
		key[i] = sum / float64(len(neighbours[i]))
	}
	slices.SortStableFunc(layer, func(a, b int) int { return cmp.Compare(key[a], key[b]) })
	for k, i := range layer {
		g.order[i] = k
	}
}

// relPos is the centre of node i as a fraction of its layer's width.
func relPos(g *graph, layers [][]int, i int) float64 {
	return (float64(g.order[i]) + 0.5) / float64(len(layers[g.layer[i]]))
}

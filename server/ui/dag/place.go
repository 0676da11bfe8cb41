package dag

// place turns layers and orders into coordinates: layer l at row l, each
// layer centred in the widest one.
func place(g *graph, layers [][]int) Layout {
	widest := 0
	for _, layer := range layers {
		widest = max(widest, len(layer))
	}
	out := Layout{
		Nodes:  make([]PlacedNode, len(g.nodes)),
		Width:  2*margin + max(widest*(NodeWidth+gapX)-gapX, 0),
		Height: 2*margin + max(len(layers)*(NodeHeight+gapY)-gapY, 0),
	}
	for _, layer := range layers {
		offset := (widest - len(layer)) * (NodeWidth + gapX) / 2
		for _, i := range layer {
			out.Nodes[i] = PlacedNode{Node: g.nodes[i], Layer: g.layer[i], Order: g.order[i],
				X: margin + offset + g.order[i]*(NodeWidth+gapX),
				Y: margin + g.layer[i]*(NodeHeight+gapY)}
		}
	}
	out.Edges = make([]PlacedEdge, len(g.edges))
	for k, e := range g.edges {
		u, d := out.Nodes[g.from[k]], out.Nodes[g.to[k]]
		out.Edges[k] = PlacedEdge{Edge: e, X1: u.X + NodeWidth/2, Y1: u.Y + NodeHeight,
			X2: d.X + NodeWidth/2, Y2: d.Y}
	}
	return out
}

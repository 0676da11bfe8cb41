package dag

// Node is one vertex to place. ID is its identity; Label, Sub, Class and
// Href are carried to the drawing unchanged.
type Node struct {
	ID    string
	Label string // first text line (short id or ref)
	Sub   string // second text line (state, kind)
	Title string // tooltip
	Class string // CSS class suffix, e.g. the public state
	Href  string // link target; "" draws no link
}

// Edge is a dependency From → To; Class styles it (the edge state).
type Edge struct {
	From, To string
	Class    string
}

// Geometry of a drawing, in SVG user units.
const (
	NodeWidth  = 128
	NodeHeight = 40
	gapX       = 24
	gapY       = 64
	margin     = 16
	sweeps     = 4
)

// PlacedNode is a node with its layer, position in the layer and top-left
// corner.
type PlacedNode struct {
	Node
	Layer, Order int
	X, Y         int
}

// PlacedEdge is an edge with the corners of its two ends.
type PlacedEdge struct {
	Edge
	X1, Y1, X2, Y2 int
}

// Layout is a placed graph: nodes in input order, the edges kept, and the
// size of the box that holds them.
type Layout struct {
	Nodes         []PlacedNode
	Edges         []PlacedEdge
	Width, Height int
}

// Compute places nodes and edges; see the package comment for the rules.
func Compute(nodes []Node, edges []Edge) Layout {
	g := newGraph(nodes, edges)
	layers := g.assignLayers()
	orderLayers(g, layers)
	return place(g, layers)
}

package dag

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
)

// maxLabelBytes bounds a node's text lines so they fit NodeWidth.
const maxLabelBytes = 18

// svgTemplate draws a Layout. html/template escapes every text and
// attribute and filters the link URLs.
var svgTemplate = template.Must(template.New("dag").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="dag" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" role="group" aria-label="{{.Label}}">
<defs>{{range .Markers}}<marker id="dag-arrow-{{.}}" class="dag-arrow dag-arrow-{{.}}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker>{{end}}</defs>
<g class="dag-edges">{{range .Edges}}<path class="dag-edge edge-{{.Class}}" data-from="{{.From}}" data-to="{{.To}}" d="{{.Path}}" marker-end="url(#dag-arrow-{{.Class}})"/>{{end}}</g>
<g class="dag-nodes">{{range .Nodes}}<g class="dag-node st-{{.Class}}" data-id="{{.ID}}" transform="translate({{.X}},{{.Y}})"><title>{{.Title}}</title>{{if .Href}}<a href="{{.Href}}">{{end}}<rect width="{{$.NodeWidth}}" height="{{$.NodeHeight}}" rx="6"/><text x="8" y="16">{{.Label}}</text><text class="dag-sub" x="8" y="32">{{.Sub}}</text>{{if .Href}}</a>{{end}}</g>{{end}}</g>
</svg>`))

type svgNode struct {
	ID, Label, Sub, Title, Class, Href string
	X, Y                               int
}

type svgEdge struct {
	From, To, Class, Path string
}

type svgData struct {
	Width, Height, NodeWidth, NodeHeight int
	Label                                string
	Markers                              []string
	Nodes                                []svgNode
	Edges                                []svgEdge
}

// SVG draws l as an inline <svg> element whose width and height are the
// layout's, labelled for assistive technology with label. It defines an
// arrowhead for each edge class in l and in edgeClasses (the classes a
// live update may give an edge later).
func SVG(l Layout, label string, edgeClasses ...string) (template.HTML, error) {
	d := svgData{Width: l.Width, Height: l.Height, NodeWidth: NodeWidth, NodeHeight: NodeHeight, Label: label}
	for _, c := range edgeClasses {
		d.addMarker(cssIdent(c))
	}
	for _, n := range l.Nodes {
		d.Nodes = append(d.Nodes, svgNode{ID: n.ID, Label: ff.CutText(n.Label, maxLabelBytes),
			Sub: ff.CutText(n.Sub, maxLabelBytes), Title: n.Title, Class: cssIdent(n.Class), Href: n.Href, X: n.X, Y: n.Y})
	}
	for _, e := range l.Edges {
		c := cssIdent(e.Class)
		d.Edges = append(d.Edges, svgEdge{From: e.From, To: e.To, Class: c, Path: edgePath(e)})
		d.addMarker(c)
	}
	var buf bytes.Buffer
	if err := svgTemplate.Execute(&buf, d); err != nil {
		return "", fmt.Errorf("draw dag: %w", err)
	}
	return template.HTML(buf.String()), nil //nolint:gosec // produced by html/template
}

func (d *svgData) addMarker(class string) {
	if !slices.Contains(d.Markers, class) {
		d.Markers = append(d.Markers, class)
	}
}

// edgePath is a vertical S-curve from the upstream's bottom to the
// downstream's top.
func edgePath(e PlacedEdge) string {
	mid := (e.Y1 + e.Y2) / 2
	return fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", e.X1, e.Y1, e.X1, mid, e.X2, mid, e.X2, e.Y2)
}

// cssIdent keeps a class suffix to [a-z0-9_-]; anything else is "other".
func cssIdent(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-'
	}) >= 0 {
		return "other"
	}
	return s
}

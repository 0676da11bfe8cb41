package dag

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSVGEscapesAndStyles(t *testing.T) {
	ns := []Node{
		{ID: "a", Label: `<script>alert(1)</script>`, Sub: "completed", Class: "completed", Href: "/ui/executions/a"},
		{ID: "b", Label: "b", Sub: "waiting", Class: `bad"class`, Href: "javascript:alert(1)"},
	}
	out, err := SVG(Compute(ns, []Edge{{From: "a", To: "b", Class: "satisfied"}}), `flow "x"`)
	require.NoError(t, err)
	s := string(out)
	require.NotContains(t, s, "<script>")
	require.NotContains(t, s, "javascript:")
	require.Contains(t, s, `class="dag-node st-completed"`)
	require.Contains(t, s, `class="dag-node st-other"`)
	require.Contains(t, s, `class="dag-edge edge-satisfied"`)
	require.Contains(t, s, `marker-end="url(#dag-arrow-satisfied)"`)
	require.Contains(t, s, `href="/ui/executions/a"`)
	requireWellFormed(t, s)
}

func TestSVGCutsLongLabelsOnRuneBoundaries(t *testing.T) {
	long := strings.Repeat("é", 30)
	out, err := SVG(Compute([]Node{{ID: "a", Label: long}}, nil), "x")
	require.NoError(t, err)
	require.Contains(t, string(out), strings.Repeat("é", maxLabelBytes/2)+"</text>")
	requireWellFormed(t, string(out))
}

func requireWellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err != nil {
			require.Equal(t, "EOF", err.Error())
			return
		}
	}
}

func TestSVGDefinesArrowsForLaterEdgeStates(t *testing.T) {
	out, err := SVG(Compute(nodesN(2), []Edge{{From: "n0", To: "n1", Class: "unresolved"}}), "x", "satisfied", "impossible", "unresolved")
	require.NoError(t, err)
	for _, c := range []string{"unresolved", "satisfied", "impossible"} {
		require.Equal(t, 1, strings.Count(string(out), `id="dag-arrow-`+c+`"`))
	}
}

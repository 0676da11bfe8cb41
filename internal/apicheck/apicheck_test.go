package apicheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoInternalTypesInPublicAPI keeps every public API usable from
// outside the module: a store written elsewhere must be able to fill a
// backendtest.Harness, an embedding program an ffserver.Config.
func TestNoInternalTypesInPublicAPI(t *testing.T) {
	m := loadModule(t)
	var problems []string
	public := 0
	for _, p := range m.pkgs {
		if !isPublicDir(p.dir) {
			continue
		}
		public++
		problems = append(problems, internalRefs(m.fset, p, m.packageName)...)
	}
	require.Greater(t, public, 5, "the walk found the public packages")
	require.Empty(t, problems, "public API mentions internal types:\n%s", strings.Join(problems, "\n"))
}

// TestEveryPackageHasAComment: go doc and pkg.go.dev open on it.
func TestEveryPackageHasAComment(t *testing.T) {
	m := loadModule(t)
	var problems []string
	for _, p := range m.pkgs {
		problems = append(problems, packageDocProblems(p)...)
	}
	require.Empty(t, problems, "\n%s", strings.Join(problems, "\n"))
}

func TestPublicDirs(t *testing.T) {
	for dir, want := range map[string]bool{
		".": true, "clock": true, "backend/backendtest": true, "ffserver": true, "server/wire": true,
		"internal/cli": false, "backend/postgres/internal/db": false, "cmd/flowfabric": false,
		"examples/embedded": false, "bench/edgeload": false, "e2e": false,
	} {
		require.Equal(t, want, isPublicDir(dir), dir)
	}
}

// TestCheckerFindsEveryKindOfMention runs the checker on a package that
// leaks internal types every way the check covers, and on the same
// shapes kept private.
func TestCheckerFindsEveryKindOfMention(t *testing.T) {
	const src = `// Package leaky leaks.
package leaky

import (
	"example.com/m/internal/clock"
	w "example.com/m/internal/wakeup"
	"example.com/m/other"
)

type Options struct {
	Clock  clock.Clock
	hidden clock.Clock
	Fine   other.T
}

type Embeds struct{ *w.Hub }

type Alias = clock.Fake

type Iface interface{ Now() clock.Clock }

type Gen[T clock.Clock] struct{}

func New(c clock.Clock) *Options { return nil }

func (o *Options) Hub() map[string][]*w.Hub { return nil }

func (o *Options) hub() *w.Hub { return nil }

type private struct{}

func (private) Exported() clock.Clock { return nil }

var Default clock.Clock

var ok = clock.Real{}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "leaky.go", src, parser.ParseComments)
	require.NoError(t, err)
	pkg := pkgSource{dir: "leaky", importPath: "example.com/m/leaky", files: map[string]*ast.File{"leaky.go": f}}
	got := internalRefs(fset, pkg, func(string) string { return "" })
	require.Equal(t, []string{
		"leaky/leaky.go:11: Options.Clock mentions example.com/m/internal/clock.Clock",
		"leaky/leaky.go:16: Embeds.Hub mentions example.com/m/internal/wakeup.Hub",
		"leaky/leaky.go:18: Alias mentions example.com/m/internal/clock.Fake",
		"leaky/leaky.go:20: Iface mentions example.com/m/internal/clock.Clock",
		"leaky/leaky.go:22: Gen mentions example.com/m/internal/clock.Clock",
		"leaky/leaky.go:24: New mentions example.com/m/internal/clock.Clock",
		"leaky/leaky.go:26: Options.Hub mentions example.com/m/internal/wakeup.Hub",
		"leaky/leaky.go:34: Default mentions example.com/m/internal/clock.Clock",
	}, got)
	require.Empty(t, packageDocProblems(pkg))
}

func TestPackageDocProblems(t *testing.T) {
	parse := func(name, src string) *ast.File {
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments)
		require.NoError(t, err)
		return f
	}
	none := pkgSource{dir: "a", files: map[string]*ast.File{"a.go": parse("a.go", "package a\n")}}
	require.Len(t, packageDocProblems(none), 1)
	two := pkgSource{dir: "a", files: map[string]*ast.File{
		"a.go": parse("a.go", "// Package a is.\npackage a\n"), "b.go": parse("b.go", "// Package a too.\npackage a\n")}}
	require.Contains(t, packageDocProblems(two)[0], "in 2 files")
	wrong := pkgSource{dir: "a", files: map[string]*ast.File{"a.go": parse("a.go", "// This is a.\npackage a\n")}}
	require.Contains(t, packageDocProblems(wrong)[0], `should start "Package a "`)
	cmd := pkgSource{dir: "cmd/x", files: map[string]*ast.File{"main.go": parse("main.go", "// Command x runs.\npackage main\n")}}
	require.Empty(t, packageDocProblems(cmd))
}

package apicheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pkgSource is the parsed non-test files of one directory.
type pkgSource struct {
	dir        string // relative to the module root, "/"-separated; "." for the root
	importPath string
	files      map[string]*ast.File // by file name
}

// module is the parsed module: its path and every package directory.
type module struct {
	root string
	path string
	fset *token.FileSet
	pkgs []pkgSource
}

// loadModule parses every package of the module that contains this test,
// skipping testdata, hidden and underscore directories. Only the
// declarations (and doc comments) are parsed; bodies are irrelevant here.
func loadModule(t *testing.T) *module {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root is two levels up from internal/apicheck")
	m := &module{root: root, path: modulePath(t, gomod), fset: token.NewFileSet()}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		src, err := m.parseDir(p)
		if err == nil && len(src.files) > 0 {
			m.pkgs = append(m.pkgs, src)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, m.pkgs)
	return m
}

func modulePath(t *testing.T, gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

func (m *module) parseDir(dir string) (pkgSource, error) {
	rel, err := filepath.Rel(m.root, dir)
	if err != nil {
		return pkgSource{}, err
	}
	rel = filepath.ToSlash(rel)
	src := pkgSource{dir: rel, importPath: path.Join(m.path, rel), files: map[string]*ast.File{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return src, err
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(m.fset, filepath.Join(dir, n), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return src, err
		}
		src.files[n] = f
	}
	return src, nil
}

// packageName returns the name of the module package at importPath, or
// "" when it is not in the module.
func (m *module) packageName(importPath string) string {
	for _, p := range m.pkgs {
		if p.importPath == importPath {
			for _, f := range p.files {
				return f.Name.Name
			}
		}
	}
	return ""
}

// sortedFiles returns a package's file names in order, for stable reports.
func (p pkgSource) sortedFiles() []string {
	names := make([]string, 0, len(p.files))
	for n := range p.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// importName is the name a file refers to an import by: its explicit
// name, else the package's own name (for module packages), else the last
// path element without a major-version suffix.
func importName(spec *ast.ImportSpec, nameOf func(string) string) (name, importPath string) {
	importPath, _ = strconv.Unquote(spec.Path.Value)
	if spec.Name != nil {
		return spec.Name.Name, importPath
	}
	if n := nameOf(importPath); n != "" {
		return n, importPath
	}
	elems := strings.Split(importPath, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = elems[len(elems)-2]
	}
	return strings.TrimPrefix(strings.TrimSuffix(last, "-go"), "go-"), importPath
}

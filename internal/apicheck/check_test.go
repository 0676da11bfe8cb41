package apicheck

import (
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"strings"
)

// isPublicDir reports whether the package at dir (relative to the module
// root) is part of the public API: not internal, not a command, example,
// benchmark harness or end-to-end test.
func isPublicDir(dir string) bool {
	for _, elem := range strings.Split(dir, "/") {
		if elem == "internal" {
			return false
		}
	}
	first := strings.Split(dir, "/")[0]
	switch first {
	case "cmd", "examples", "bench", "e2e":
		return false
	}
	return true
}

// isInternalPath reports whether importPath can only be imported from
// inside its own tree (Go's internal rule).
func isInternalPath(importPath string) bool {
	return strings.HasSuffix(importPath, "/internal") || strings.Contains(importPath, "/internal/") ||
		strings.HasPrefix(importPath, "internal/")
}

// apiChecker finds exported declarations of one file that mention a type
// of an internal package.
type apiChecker struct {
	fset     *token.FileSet
	file     string            // for reports
	internal map[string]string // import name -> import path, internal imports only
	problems []string
}

// internalRefs reports every exported identifier of pkg whose type (or
// signature, fields, methods, alias target) mentions an internal type, as
// "dir/file.go:line: Name mentions path.Type".
func internalRefs(fset *token.FileSet, pkg pkgSource, nameOf func(string) string) []string {
	var out []string
	for _, name := range pkg.sortedFiles() {
		f := pkg.files[name]
		c := &apiChecker{fset: fset, file: path.Join(pkg.dir, name), internal: map[string]string{}}
		for _, spec := range f.Imports {
			n, p := importName(spec, nameOf)
			if !isInternalPath(p) {
				continue
			}
			if n == "." {
				c.report(spec.Pos(), "dot import", p)
			}
			c.internal[n] = p
		}
		if len(c.internal) == 0 {
			continue
		}
		for _, d := range f.Decls {
			c.decl(d)
		}
		out = append(out, c.problems...)
	}
	return out
}

func (c *apiChecker) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		c.funcDecl(d)
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				c.typeSpec(s)
			case *ast.ValueSpec:
				c.valueSpec(s)
			}
		}
	}
}

// funcDecl checks exported functions and exported methods of exported
// types: their whole signature is API.
func (c *apiChecker) funcDecl(d *ast.FuncDecl) {
	if !d.Name.IsExported() {
		return
	}
	name := d.Name.Name
	if d.Recv != nil && len(d.Recv.List) > 0 {
		recv := receiverName(d.Recv.List[0].Type)
		if !ast.IsExported(recv) {
			return
		}
		name = recv + "." + name
	}
	c.expr(name, d.Type)
}

func receiverName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// embeddedName is the field name of an embedded type: T, *T, pkg.T.
func embeddedName(e ast.Expr) string {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	if sel, ok := e.(*ast.SelectorExpr); ok {
		return sel.Sel.Name
	}
	return receiverName(e)
}

// typeSpec checks an exported type: its type parameters, an alias's
// target, a struct's exported and embedded fields, every method and
// embedded type of an interface, and any other definition whole.
func (c *apiChecker) typeSpec(s *ast.TypeSpec) {
	if !s.Name.IsExported() {
		return
	}
	name := s.Name.Name
	if s.TypeParams != nil {
		c.expr(name, s.TypeParams)
	}
	st, ok := s.Type.(*ast.StructType)
	if !ok || s.Assign != 0 {
		c.expr(name, s.Type) // interfaces, aliases, func and named types: all of it is API
		return
	}
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			c.expr(name+"."+embeddedName(f.Type), f.Type)
			continue
		}
		for _, n := range f.Names {
			if n.IsExported() {
				c.expr(name+"."+n.Name, f.Type)
			}
		}
	}
}

// valueSpec checks exported variables and constants with a declared
// type. (An inferred type is not visible to the parser; none is used for
// an internal type today.)
func (c *apiChecker) valueSpec(s *ast.ValueSpec) {
	if s.Type == nil {
		return
	}
	for _, n := range s.Names {
		if n.IsExported() {
			c.expr(n.Name, s.Type)
		}
	}
}

// expr reports every qualified identifier in e that names an internal
// package.
func (c *apiChecker) expr(owner string, e ast.Node) {
	ast.Inspect(e, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			if p, internal := c.internal[id.Name]; internal {
				c.report(sel.Pos(), owner, p+"."+sel.Sel.Name)
			}
		}
		return true
	})
}

func (c *apiChecker) report(pos token.Pos, owner, what string) {
	line := c.fset.Position(pos).Line
	c.problems = append(c.problems, fmt.Sprintf("%s:%d: %s mentions %s", c.file, line, owner, what))
}

// packageDocProblems checks that exactly one file of pkg carries the
// package comment and that it has the standard form: "Package <name> …",
// or "Command <name> …" for a main package.
func packageDocProblems(pkg pkgSource) []string {
	var carriers []string
	var name string
	for _, fn := range pkg.sortedFiles() {
		f := pkg.files[fn]
		name = f.Name.Name
		if f.Doc == nil {
			continue
		}
		carriers = append(carriers, fn)
		text := f.Doc.Text()
		want := "Package " + name + " "
		if name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(text, want) {
			first, _, _ := strings.Cut(text, "\n")
			return []string{fmt.Sprintf("%s/%s: package comment should start %q, starts %q", pkg.dir, fn, want, first)}
		}
	}
	switch len(carriers) {
	case 0:
		return []string{fmt.Sprintf("%s: package %s has no package comment (add a doc.go that says what it is for and what to read first)", pkg.dir, name)}
	case 1:
		return nil
	}
	return []string{fmt.Sprintf("%s: package comment in %d files (%s); keep one", pkg.dir, len(carriers), strings.Join(carriers, ", "))}
}

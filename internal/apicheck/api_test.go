// Package apicheck keeps the exported API of every module in one golden
// file, api.txt at the repository's root, so that every change of an
// exported name or signature shows up in review as a change of that file.
//
// After an intended change of the API, regenerate it with
//
//	go test ./internal/apicheck -update
package apicheck

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite api.txt from the source")

const golden = "../../api.txt"

func TestAPI(t *testing.T) {
	got, err := api("../..")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/apicheck -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the exported API differs from api.txt:\n%s\nIf the change is intended, run go test ./internal/apicheck -update and commit api.txt.", diff(string(want), string(got)))
	}
}

// api prints the exported declarations of every importable package under
// root, without comments or bodies, package by package in path order.
func api(root string) ([]byte, error) {
	dirs := map[string][]string{} // directory → its non-test Go files
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "internal" || name == "bench" || name == "docs" || name == "scripts") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var paths []string
	pkgs := map[string]*doc.Package{}
	fset := token.NewFileSet()
	for dir, files := range dirs {
		importPath, err := importPathOf(root, dir)
		if err != nil {
			return nil, err
		}
		var parsed []*ast.File
		for _, f := range files {
			af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			if af.Name.Name == "main" {
				parsed = nil
				break
			}
			parsed = append(parsed, af)
		}
		if len(parsed) == 0 {
			continue
		}
		p, err := doc.NewFromFiles(fset, parsed, importPath)
		if err != nil {
			return nil, err
		}
		pkgs[importPath] = p
		paths = append(paths, importPath)
	}
	sort.Strings(paths)
	var out bytes.Buffer
	for _, path := range paths {
		writePackage(&out, fset, path, pkgs[path])
	}
	return out.Bytes(), nil
}

func writePackage(out *bytes.Buffer, fset *token.FileSet, path string, p *doc.Package) {
	fmt.Fprintf(out, "package %s\n", path)
	decl := func(n ast.Node) {
		var b bytes.Buffer
		if err := (&printer.Config{Mode: printer.UseSpaces, Tabwidth: 4}).Fprint(&b, fset, n); err != nil {
			fmt.Fprintf(out, "\t<%v>\n", err)
			return
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.TrimSpace(line) == "" {
				continue // where a field's comment stood
			}
			fmt.Fprintf(out, "\t%s\n", line)
		}
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			v.Decl.Doc = nil
			decl(v.Decl)
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			f.Decl.Doc = nil
			decl(f.Decl)
		}
	}
	values(p.Consts)
	values(p.Vars)
	funcs(p.Funcs)
	for _, typ := range p.Types {
		typ.Decl.Doc = nil
		decl(typ.Decl)
		values(typ.Consts)
		values(typ.Vars)
		funcs(typ.Funcs)
		funcs(typ.Methods)
	}
	out.WriteString("\n")
}

// importPathOf derives dir's import path from the nearest go.mod above it.
func importPathOf(root, dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if mod, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					rel, err := filepath.Rel(d, dir)
					if err != nil {
						return "", err
					}
					if rel == "." {
						return strings.TrimSpace(mod), nil
					}
					return strings.TrimSpace(mod) + "/" + filepath.ToSlash(rel), nil
				}
			}
			return "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
		}
		if d == root || d == filepath.Dir(d) {
			return "", fmt.Errorf("%s: no go.mod above it", dir)
		}
	}
}

// diff lists the lines only in want (-) and only in got (+), in order: a
// short report that points at what changed.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]int{}, map[string]int{}
	for _, l := range w {
		inW[l]++
	}
	for _, l := range g {
		inG[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if inG[l] == 0 {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if inW[l] == 0 {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

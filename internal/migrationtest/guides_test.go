package migrationtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// TestGuidesNameTestsThatExist: every test or example a migration guide
// names as the backing of a claim is a function of this package or of
// bench/peers/migration_test.go, so that renaming or deleting one cannot
// leave a guide citing nothing.
func TestGuidesNameTestsThatExist(t *testing.T) {
	var sources []string
	files, _ := filepath.Glob("*_test.go")
	files = append(files, filepath.Join(root, "bench", "peers", "migration_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	all := strings.Join(sources, "\n")
	cited := regexp.MustCompile("`((?:Test|Example)[A-Za-z0-9_]*)`")
	guides, _ := filepath.Glob(filepath.Join(root, "docs", "migrating-from-*.md"))
	if len(guides) != 3 {
		t.Fatalf("found guides %v, want the three", guides)
	}
	for _, g := range guides {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		names := cited.FindAllStringSubmatch(string(b), -1)
		if len(names) < 10 {
			t.Errorf("%s cites %d tests: each difference names its test", g, len(names))
		}
		for _, m := range names {
			if !strings.Contains(all, "func "+m[1]+"(") {
				t.Errorf("%s cites %s, which is neither here nor in bench/peers/migration_test.go", filepath.Base(g), m[1])
			}
		}
	}
}

// TestDocLinksResolve: every relative link of README.md and docs/*.md
// points at a file or directory that exists, and every link to a heading
// of README.md at a heading it has.
func TestDocLinksResolve(t *testing.T) {
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	pages = append(pages, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := codeBlock.ReplaceAllString(string(b), "")
		text = codeSpan.ReplaceAllString(text, "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := p
			if path != "" {
				file = filepath.Join(filepath.Dir(p), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s links to %s, which does not exist", filepath.Base(p), target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !hasHeading(t, file, anchor) {
				t.Errorf("%s links to %s, which has no such heading", filepath.Base(p), target)
			}
		}
	}
}

// codeBlock and codeSpan are Markdown's code, where brackets and
// parentheses are Go, not links.
var (
	codeBlock = regexp.MustCompile("(?s)```.*?```")
	codeSpan  = regexp.MustCompile("`[^`]*`")
)

// hasHeading reports whether the Markdown file has a heading whose anchor,
// as GitHub makes it, is anchor.
func hasHeading(t *testing.T, file, anchor string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		if strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-") == anchor {
			return true
		}
	}
	return false
}

// TestLibraryUsesStandardLibraryOnly backs the README's "the main module
// depends on nothing outside the standard library at run time": the
// non-test Go files of the main module import only the standard library
// and the module's own packages. The packages for tests (internal/epochs,
// the conformance suites fleet/fleettest and window/windowtest, this one)
// are the exception: only they may import internal/epochs. Nested modules
// (directories with a go.mod of their own) and bench/ are not the library.
func TestLibraryUsesStandardLibraryOnly(t *testing.T) {
	const module = "github.com/tripwire-go/tripwire"
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || rel == "bench" || rel == filepath.Join("internal", "epochs") || strings.HasSuffix(d.Name(), "test") {
				return filepath.SkipDir // not the library, or a package for tests
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a module of its own
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			switch {
			case p == module+"/internal/epochs":
				t.Errorf("%s imports internal/epochs, which is for tests", rel)
			case strings.HasPrefix(p, module+"/"):
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s, outside the standard library", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadmeQuickStartIsExample (issue 19): the README's quick start threw
// New's error away, and drifted from Example_readme unseen. Every line of
// its code is now in example_test.go, which runs it.
func TestReadmeQuickStartIsExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Quick start\n\n```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("no block of Go under the README's Quick start")
	}
	if strings.Contains(string(m[1]), ", _ = breaker.New") || strings.Contains(string(m[1]), ", _ := breaker.New") {
		t.Error("the quick start throws New's error away")
	}
	flat := strings.Join(strings.Fields(string(example)), " ")
	for _, line := range strings.Split(string(m[1]), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || line == "import (" || line == ")" || strings.HasPrefix(line, "\"") {
			continue
		}
		if !strings.Contains(flat, line) {
			t.Errorf("README quick start line not in Example_readme's file: %s", line)
		}
	}
}

// TestReadmeGoVersions (issue 19): the Go version each module needs was
// stated nowhere. The README's table says it; this keeps it equal to the
// go directives of the go.mod files and of go.work.
func TestReadmeGoVersions(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`)
	version := func(file string) string {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		m := goLine.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no go directive", file)
		}
		return string(m[1])
	}
	rows := map[string]string{ // a README row, by what it starts with, and the file whose go directive it states
		"| `github.com/tripwire-go/tripwire` (": "go.mod",
		"| working in a clone":                  "go.work",
		"| `…/prombreaker`, `…/otelbreaker`, `…/grpcbreaker`, `…/fleet/redisfleet`": "prombreaker/go.mod",
	}
	for _, nested := range []string{"otelbreaker/go.mod", "grpcbreaker/go.mod", "fleet/redisfleet/go.mod"} {
		if v, w := version(nested), version("prombreaker/go.mod"); v != w {
			t.Errorf("%s says go %s, prombreaker/go.mod go %s: the README gives the nested modules one version", nested, v, w)
		}
	}
	for prefix, file := range rows {
		var row string
		for line := range strings.Lines(string(readme)) {
			if strings.HasPrefix(line, prefix) {
				row = line
			}
		}
		if want := "Go " + version(file) + " or later"; !strings.Contains(row, want) {
			t.Errorf("README row %q... says %q, want %q (the go directive of %s)", prefix, strings.TrimSpace(row), want, file)
		}
	}
}

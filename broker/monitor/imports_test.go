package monitor

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/internal/testenv"
)

// The daemon links this package, so it may import only the standard library
// and leafbox's own internal packages (TestNoNetHTTPInDeps checks that these
// bring in nothing else): in particular no Prometheus client (tests may use
// Prometheus's parser), and not net/http, which costs about 1.3 MiB (tests
// may use its client).
const (
	modulePath     = "github.com/leafbox/leafbox"
	internalPrefix = modulePath + "/internal/"
)

func TestImportsStdlibOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, internalPrefix) {
				continue
			}
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") || strings.Contains(path, "prometheus") {
				t.Errorf("%s imports %s; only the standard library is allowed", name, path)
			}
			if path == "net/http" || strings.HasPrefix(path, "net/http/") {
				t.Errorf("%s imports %s; the daemon must not link net/http (use httpd.go)", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}

// Nothing this package depends on pulls net/http in either, for the
// daemon's target platform.
func TestNoNetHTTPInDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, "go command not available: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && !strings.HasPrefix(dep, modulePath+"/") {
			t.Errorf("package depends on %s, which is not in the standard library", dep)
		}
		if dep == "net/http" || strings.HasPrefix(dep, "net/http/") || dep == "mime/multipart" {
			t.Errorf("package depends on %s", dep)
		}
	}
}

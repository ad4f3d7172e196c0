package wsconn

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/internal/testenv"
)

// TestNoHeavyDeps guards the binary size: the transport must not link
// net/http or any module outside the standard library.
func TestNoHeavyDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	goTool := testenv.NeedTool(t, "go", "the Go toolchain")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		std, path, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(path, "net/http") {
			t.Errorf("links %s", path)
		}
		if std != "true" && !strings.HasSuffix(path, "/broker/leaf/wsconn") {
			t.Errorf("links non-standard package %s", path)
		}
	}
}

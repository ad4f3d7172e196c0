package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/internal/testenv"
)

func TestPkgOf(t *testing.T) {
	tests := []struct {
		sym, want string
	}{
		{"runtime.mallocgc", "runtime"},
		{"net/http.(*Client).Do", "net/http"},
		{"github.com/leafbox/leafbox/broker/proto.(*Parser).Parse", "github.com/leafbox/leafbox/broker/proto"},
		{"github.com/nats-io/nats-server/v2/conf.Parse", "github.com/nats-io/nats-server/v2/conf"},
		{"slices.SortFunc[go.shape.[]net/netip.Addr,go.shape.struct { a/b.c int }]", "slices"},
		{"sync/atomic.(*Pointer[go.shape.struct { x/y.z }]).Load", "sync/atomic"},
		{"vendor/golang.org/x/net/http2/hpack.init", "vendor/golang.org/x/net/http2/hpack"},
		{"type:*net/http.Client", "(type descriptors)"},
		{"go:func.*", "(go: linker data)"},
		{"main.main", "main"},
		{"_rt0_arm64_linux", "_rt0_arm64_linux"},
		{"", "(other)"},
		{".dynsym", "(other)"},
	}
	for _, tc := range tests {
		if got := pkgOf(tc.sym); got != tc.want {
			t.Errorf("pkgOf(%q) = %q, want %q", tc.sym, got, tc.want)
		}
	}
}

func TestWriteTableTop(t *testing.T) {
	sizes := []pkgSize{{"runtime", 3072}, {"net", 1024}, {"fmt", 0}}
	var b strings.Builder
	if err := writeTable(&b, sizes, 2); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"| 1 | runtime | 3.0 | 75.0% |", "| 2 | net | 1.0 | 25.0% |", "3 packages, 4.0 KiB"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "| fmt |") {
		t.Errorf("table lists more than top=2 rows:\n%s", got)
	}
}

// TestPackageSizesBuilt measures pkgsize itself, built for linux as an ELF
// file. It builds the binary because `go test` links its test binaries
// without a symbol table, so measuring os.Args[0] could only ever skip.
func TestPackageSizesBuilt(t *testing.T) {
	goTool := testenv.NeedTool(t, "go", "the Go toolchain, to build a binary to measure")
	dir := t.TempDir()
	build := func(name string, ldflags string) string {
		t.Helper()
		bin := filepath.Join(dir, name)
		cmd := exec.Command(goTool, "build", "-ldflags="+ldflags, "-o", bin, ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	sizes, err := packageSizes(build("pkgsize", ""))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, s := range sizes {
		found[s.Pkg] = s.Bytes > 0
	}
	for _, p := range []string{"runtime", "main", "debug/elf"} {
		if !found[p] {
			t.Errorf("no bytes attributed to %s", p)
		}
	}
	if _, err := packageSizes(build("stripped", "-s")); !errors.Is(err, errNoSymbols) {
		t.Errorf("stripped binary: %v, want %v", err, errNoSymbols)
	}
}

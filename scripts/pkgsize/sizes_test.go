package main

import (
	"errors"
	"os"
	"strings"
	"testing"
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

// TestPackageSizesSelf measures the test binary itself when it is ELF (Linux).
func TestPackageSizesSelf(t *testing.T) {
	sizes, err := packageSizes(os.Args[0])
	if errors.Is(err, errNoSymbols) {
		t.Skip("test binary is stripped")
	}
	if err != nil {
		t.Skipf("test binary is not a readable ELF file: %v", err)
	}
	found := map[string]bool{}
	for _, s := range sizes {
		found[s.Pkg] = s.Bytes > 0
	}
	for _, p := range []string{"runtime", "testing", "debug/elf"} {
		if !found[p] {
			t.Errorf("no bytes attributed to %s", p)
		}
	}
}

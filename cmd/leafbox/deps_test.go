package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/internal/testenv"
)

// daemonPkg is the package whose linked dependencies are guarded.
const daemonPkg = "github.com/leafbox/leafbox/cmd/leafbox"

// reviewedDeps lists the third-party packages the daemon may link. Each entry was
// reviewed for what it costs in binary size and why it is needed; a new dependency
// fails TestLinkedDependencies until it is added here with its reason. A pattern
// ending in "/..." allows the package and everything below it.
func reviewedDeps() map[string]string {
	return map[string]string{
		"github.com/nats-io/nats-server/v2/conf": "config file syntax; imports only the standard library",
		"github.com/nats-io/nkeys":               "nkey authentication, signatures, device identity",
		"golang.org/x/crypto/...":                "bcrypt passwords; curve25519 and nacl through nkeys",
		"golang.org/x/sys/...":                   "CPU feature detection for x/crypto; serial, RS-485, watchdog and reboot ioctls",
		"go.bug.st/serial/...":                   "serial ports for the serial bridge (~8 KB of symbols)",
		"periph.io/x/conn/v3/...":                "GPIO interfaces for the GPIO bridge (~22 KB)",
		"periph.io/x/host/v3/gpioioctl":          "the Linux GPIO character-device driver only (~14 KB); the rest of host/v3 is not linked",
		"github.com/klauspost/compress/...":      "S2 for the leafnode link, zstd for compressed OTA bundles (~390 KB)",
		"go.etcd.io/bbolt/...":                   "the store-and-forward buffer and durable state",
		// The MQTT client bridge must use paho (issue 5). paho links
		// gorilla/websocket and with it net/http for ws:// broker URLs;
		// that is the largest optional part (832 KiB on linux/arm64), which
		// the tag leafbox_omit_mqttbridge leaves out (features_test.go).
		"github.com/eclipse/paho.mqtt.golang/...": "MQTT client bridge to external brokers (brings net/http via gorilla/websocket)",
		"github.com/gorilla/websocket":            "linked by paho for ws:// MQTT broker URLs",
		"golang.org/x/net/proxy":                  "linked by paho for proxied MQTT connections",
		"golang.org/x/net/internal/socks":         "linked by paho through x/net/proxy",
		"golang.org/x/sync/semaphore":             "linked by paho",
	}
}

// forbiddenDeps lists packages that must never be linked, whatever else allows them.
func forbiddenDeps() map[string]string {
	return map[string]string{
		"github.com/nats-io/nats-server/v2":            "the reference server's main package is a test dependency",
		"github.com/nats-io/nats-server/v2/server/...": "the reference server is a test dependency",
		"github.com/nats-io/nats.go/...":               "the NATS client is a test dependency",
		"github.com/prometheus/...":                    "expfmt is a test dependency",
		"github.com/google/go-cmp/...":                 "a test dependency",
		"testing/...":                                  "the test framework",
		"net/http/httptest":                            "test servers; registers test flags",
		"github.com/leafbox/leafbox/internal/testutil": "helpers for tests; links nats-server",
	}
}

// linkedPackage is one entry of `go list -deps`.
type linkedPackage struct {
	ImportPath string
	Standard   bool
	Module     string   // module path; empty for the standard library
	Imports    []string // direct imports, to name who pulls a package in
}

// matchPattern reports whether path is pattern or, for "x/...", x or below x.
func matchPattern(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}

// matchAny returns the reason of the first pattern in rules that matches path.
func matchAny(rules map[string]string, path string) (string, bool) {
	patterns := make([]string, 0, len(rules))
	for p := range rules {
		patterns = append(patterns, p)
	}
	slices.Sort(patterns)
	for _, p := range patterns {
		if matchPattern(p, path) {
			return rules[p], true
		}
	}
	return "", false
}

// isTestFake reports whether one of our own packages is an xtest fake (e.g.
// bridge/gpio/gpiotest); fakes belong to tests, never to the daemon.
func isTestFake(p linkedPackage) bool {
	last := p.ImportPath[strings.LastIndexByte(p.ImportPath, '/')+1:]
	return p.Module == modulePath(daemonPkg) && strings.HasSuffix(last, "test")
}

// modulePath is the module of a package inside this repository.
func modulePath(pkg string) string {
	return strings.TrimSuffix(pkg, "/cmd/leafbox")
}

// checkDeps returns one message per package that the daemon must not link.
func checkDeps(pkgs []linkedPackage) []string {
	importers := map[string][]string{}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			importers[imp] = append(importers[imp], p.ImportPath)
		}
	}
	var bad []string
	for _, p := range pkgs {
		var why string
		if reason, ok := matchAny(forbiddenDeps(), p.ImportPath); ok {
			why = "forbidden: " + reason
		} else if isTestFake(p) {
			why = "forbidden: test fakes belong to tests"
		} else if p.Standard || p.Module == modulePath(daemonPkg) {
			continue
		} else if _, ok := matchAny(reviewedDeps(), p.ImportPath); !ok {
			why = fmt.Sprintf("not in the reviewed list (module %s): review its size and add it to reviewedDeps", p.Module)
		} else {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s: %s; imported by %s", p.ImportPath, why, strings.Join(importers[p.ImportPath], ", ")))
	}
	return bad
}

// parseGoList reads lines of ImportPath, Standard, Module and space-separated Imports,
// separated by tabs.
func parseGoList(out []byte) ([]linkedPackage, error) {
	var pkgs []linkedPackage
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("go list line %q: want 4 tab-separated fields, got %d", line, len(f))
		}
		pkgs = append(pkgs, linkedPackage{
			ImportPath: f[0],
			Standard:   f[1] == "true",
			Module:     f[2],
			Imports:    strings.Fields(f[3]),
		})
	}
	return pkgs, nil
}

// TestLinkedDependencies guards binary size: it lists what the daemon links for the
// gateway target (linux/arm64, no cgo) and fails on test-only or unreviewed packages.
func TestLinkedDependencies(t *testing.T) {
	goTool := testenv.NeedTool(t, "go", "the Go toolchain, to list the daemon's dependencies")
	const format = `{{.ImportPath}}{{"\t"}}{{.Standard}}{{"\t"}}{{with .Module}}{{.Path}}{{end}}{{"\t"}}{{join .Imports " "}}`
	cmd := exec.Command(goTool, "list", "-deps", "-f", format, daemonPkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", daemonPkg, err, stderr.String())
	}
	pkgs, err := parseGoList(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(pkgs, func(p linkedPackage) bool { return p.ImportPath == daemonPkg }) {
		t.Fatalf("go list -deps did not list %s itself; output:\n%s", daemonPkg, out)
	}
	for _, msg := range checkDeps(pkgs) {
		t.Error(msg)
	}
	var third []string
	for _, p := range pkgs {
		if !p.Standard && p.Module != modulePath(daemonPkg) {
			third = append(third, p.ImportPath)
		}
	}
	t.Logf("%d packages linked, %d third-party: %s", len(pkgs), len(third), strings.Join(third, " "))
}

func TestCheckDeps(t *testing.T) {
	own := modulePath(daemonPkg)
	std := func(path string, imports ...string) linkedPackage {
		return linkedPackage{ImportPath: path, Standard: true, Imports: imports}
	}
	mod := func(module, path string, imports ...string) linkedPackage {
		return linkedPackage{ImportPath: path, Module: module, Imports: imports}
	}
	tests := []struct {
		name    string
		pkgs    []linkedPackage
		wantBad []string // import paths expected to be reported, in order
	}{
		{
			name: "reviewed only",
			pkgs: []linkedPackage{
				std("net/http"), std("vendor/golang.org/x/net/http2/hpack"),
				mod("github.com/nats-io/nats-server/v2", "github.com/nats-io/nats-server/v2/conf"),
				mod("github.com/nats-io/nkeys", "github.com/nats-io/nkeys"),
				mod("golang.org/x/crypto", "golang.org/x/crypto/bcrypt"),
				mod("golang.org/x/sys", "golang.org/x/sys/cpu"),
				mod(own, own+"/broker"), mod(own, daemonPkg),
			},
		},
		{
			name: "reference server",
			pkgs: []linkedPackage{
				mod("github.com/nats-io/nats-server/v2", "github.com/nats-io/nats-server/v2/server"),
				mod(own, daemonPkg, "github.com/nats-io/nats-server/v2/server"),
			},
			wantBad: []string{"github.com/nats-io/nats-server/v2/server"},
		},
		{
			name: "other nats-server package",
			pkgs: []linkedPackage{
				mod("github.com/nats-io/nats-server/v2", "github.com/nats-io/nats-server/v2/server/stree"),
				mod("github.com/nats-io/nats-server/v2", "github.com/nats-io/nats-server/v2/internal/fastrand"),
			},
			wantBad: []string{"github.com/nats-io/nats-server/v2/server/stree", "github.com/nats-io/nats-server/v2/internal/fastrand"},
		},
		{
			name: "test-only modules",
			pkgs: []linkedPackage{
				mod("github.com/nats-io/nats.go", "github.com/nats-io/nats.go"),
				mod("github.com/prometheus/common", "github.com/prometheus/common/expfmt"),
				mod("github.com/google/go-cmp", "github.com/google/go-cmp/cmp"),
			},
			wantBad: []string{"github.com/nats-io/nats.go", "github.com/prometheus/common/expfmt", "github.com/google/go-cmp/cmp"},
		},
		{
			name:    "testing in the standard library",
			pkgs:    []linkedPackage{std("testing"), std("testing/synctest"), std("net/http/httptest"), std("internal/testlog")},
			wantBad: []string{"testing", "testing/synctest", "net/http/httptest"},
		},
		{
			name:    "unreviewed module",
			pkgs:    []linkedPackage{mod("example.com/unreviewed", "example.com/unreviewed"), mod("golang.org/x/net", "golang.org/x/net/http2")},
			wantBad: []string{"example.com/unreviewed", "golang.org/x/net/http2"},
		},
		{
			name:    "own test fake",
			pkgs:    []linkedPackage{mod(own, own+"/bridge/gpio/gpiotest"), mod(own, own+"/bridge/gpio")},
			wantBad: []string{own + "/bridge/gpio/gpiotest"},
		},
		{
			name: "prefix is not a parent",
			pkgs: []linkedPackage{
				mod("golang.org/x/cryptography", "golang.org/x/cryptography"),
				mod("github.com/nats-io/nkeys-extra", "github.com/nats-io/nkeys-extra"),
			},
			wantBad: []string{"golang.org/x/cryptography", "github.com/nats-io/nkeys-extra"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := checkDeps(tc.pkgs)
			var got []string
			for _, msg := range bad {
				got = append(got, msg[:strings.IndexByte(msg, ':')])
			}
			if !slices.Equal(got, tc.wantBad) {
				t.Fatalf("reported %q, want %q; messages:\n%s", got, tc.wantBad, strings.Join(bad, "\n"))
			}
		})
	}
}

func TestCheckDepsNamesImporter(t *testing.T) {
	pkgs := []linkedPackage{
		{ImportPath: daemonPkg, Module: modulePath(daemonPkg), Imports: []string{"github.com/nats-io/nats.go"}},
		{ImportPath: "github.com/nats-io/nats.go", Module: "github.com/nats-io/nats.go"},
	}
	bad := checkDeps(pkgs)
	if len(bad) != 1 || !strings.Contains(bad[0], "imported by "+daemonPkg) {
		t.Fatalf("checkDeps = %q, want one message naming %s as the importer", bad, daemonPkg)
	}
}

func TestParseGoList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []linkedPackage
		wantErr bool
	}{
		{"empty", "", nil, false},
		{
			"two", "errors\ttrue\t\tinternal/reflectlite\ngithub.com/nats-io/nkeys\tfalse\tgithub.com/nats-io/nkeys\t\n",
			[]linkedPackage{
				{ImportPath: "errors", Standard: true, Imports: []string{"internal/reflectlite"}},
				{ImportPath: "github.com/nats-io/nkeys", Module: "github.com/nats-io/nkeys", Imports: []string{}},
			}, false,
		},
		{"short line", "errors\ttrue\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGoList([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseGoList: %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseGoList = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.ImportPath != w.ImportPath || g.Standard != w.Standard || g.Module != w.Module || !slices.Equal(g.Imports, w.Imports) {
					t.Errorf("package %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/internal/feature"
	"github.com/leafbox/leafbox/internal/testenv"
)

// omitTags is the -tags value that leaves out fs.
func omitTags(fs ...feature.Feature) string {
	tags := make([]string, len(fs))
	for i, f := range fs {
		tags[i] = f.OmitTag()
	}
	return strings.Join(tags, ",")
}

// tagCase is one combination of omit tags and what it must (not) link.
type tagCase struct {
	name    string
	omit    []feature.Feature
	absent  []string // patterns (matchPattern) no linked package may match
	present []string // packages that must be linked: the absent checks mean something
}

func tagCases() []tagCase {
	const own = "github.com/leafbox/leafbox/"
	paho := "github.com/eclipse/paho.mqtt.golang/..."
	cases := []tagCase{
		{
			name: "default",
			present: []string{
				"github.com/eclipse/paho.mqtt.golang", "net/http", "github.com/klauspost/compress/s2",
				"github.com/klauspost/compress/zstd", own + "broker/leaf/wsconn", own + "bridge/serial",
				own + "bridge/gpio", own + "bridge/modbus", own + "device/ota/httpget",
				own + "device/ota/objstore", own + "bridge/mqtt/boltstore",
			},
		},
		{
			name:    "no paho bridge",
			omit:    []feature.Feature{feature.MQTTBridge},
			absent:  []string{paho, "github.com/gorilla/websocket", "golang.org/x/net/...", "net/http", "net/http/..."},
			present: []string{own + "bridge/mqtt", own + "bridge/mqtt/boltstore"},
		},
		{
			name:    "no MQTT listener",
			omit:    []feature.Feature{feature.MQTT},
			absent:  []string{own + "bridge/mqtt/boltstore"},
			present: []string{"github.com/eclipse/paho.mqtt.golang"},
		},
		// Modbus links the serial bridge's RS-485 code, so serial alone
		// only removes the bridge's wiring; the pair removes the package.
		{name: "no serial", omit: []feature.Feature{feature.Serial}, present: []string{own + "bridge/modbus"}},
		{
			name:   "no serial, no Modbus",
			omit:   []feature.Feature{feature.Serial, feature.Modbus},
			absent: []string{own + "bridge/serial", own + "bridge/modbus", "go.bug.st/serial/..."},
		},
		{name: "no GPIO", omit: []feature.Feature{feature.GPIO}, absent: []string{own + "bridge/gpio", "periph.io/..."}},
		{name: "no Modbus", omit: []feature.Feature{feature.Modbus}, absent: []string{own + "bridge/modbus"}, present: []string{own + "bridge/serial"}},
		{name: "no OTA over HTTP", omit: []feature.Feature{feature.OTAHTTP}, absent: []string{own + "device/ota/httpget"}, present: []string{own + "device/ota/objstore"}},
		{name: "no OTA object store", omit: []feature.Feature{feature.OTAObjStore}, absent: []string{own + "device/ota/objstore"}, present: []string{own + "device/ota/httpget"}},
		{name: "no websocket", omit: []feature.Feature{feature.Websocket}, absent: []string{own + "broker/leaf/wsconn"}},
		{name: "no S2", omit: []feature.Feature{feature.S2}, absent: []string{"github.com/klauspost/compress/s2"}, present: []string{"github.com/klauspost/compress/zstd"}},
		{name: "no zstd", omit: []feature.Feature{feature.Zstd}, absent: []string{"github.com/klauspost/compress/zstd"}, present: []string{"github.com/klauspost/compress/s2"}},
		{
			name:    "preset broker+leaf+store+MQTT listener",
			omit:    presetMiddle(),
			absent:  []string{paho, "net/http", own + "device/ota/httpget"},
			present: []string{own + "broker/leaf", own + "storage/forward", own + "bridge/mqtt/boltstore"},
		},
		{
			name: "everything omitted",
			omit: feature.All(),
			absent: []string{
				paho, "github.com/gorilla/websocket", "golang.org/x/net/...", "net/http", "net/http/...",
				"github.com/klauspost/compress/...", "go.bug.st/serial/...", "periph.io/...",
				own + "bridge/serial", own + "bridge/gpio", own + "bridge/modbus", own + "bridge/mqtt/boltstore",
				own + "device/ota/httpget", own + "device/ota/objstore", own + "broker/leaf/wsconn",
			},
			present: []string{own + "broker", own + "broker/leaf", own + "storage/forward"},
		},
	}
	return cases
}

// presetMiddle is the "broker + leaf + store-and-forward + MQTT listener"
// preset of scripts/size.sh: no paho bridge, no OTA over HTTP.
func presetMiddle() []feature.Feature {
	return []feature.Feature{feature.MQTTBridge, feature.OTAHTTP}
}

// TestFeatureTagsLinks lists, for each combination of omit tags, what the
// daemon links for linux/arm64, and checks that the left-out parts are gone
// (their packages, not just their calls) and the rest stays. Each single
// tag and all tags together are also compiled for the host (go list -export compiles
// without linking, and reuses what the test build already compiled, which
// keeps this cheap).
func TestFeatureTagsLinks(t *testing.T) {
	goTool := testenv.NeedTool(t, "go", "the Go toolchain, to list the daemon's dependencies")
	cases := tagCases()
	covered := map[feature.Feature]bool{}
	for _, tc := range cases {
		if len(tc.omit) == 1 {
			covered[tc.omit[0]] = true
		}
	}
	for _, f := range feature.All() {
		if !covered[f] {
			t.Errorf("no case leaves out only %v (tag %s)", f, f.OmitTag())
		}
	}
	const format = `{{.ImportPath}}{{"\t"}}{{.Standard}}{{"\t"}}{{with .Module}}{{.Path}}{{end}}{{"\t"}}{{join .Imports " "}}`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tags := omitTags(tc.omit...)
			// Every single tag and all of them together must build; the
			// default build is the test's own.
			if len(tc.omit) == 1 || len(tc.omit) == len(feature.All()) {
				compile := exec.Command(goTool, "list", "-export", "-tags", tags, "-f", "{{.Export}}", daemonPkg)
				compile.Env = append(os.Environ(), "CGO_ENABLED=0")
				if out, err := compile.CombinedOutput(); err != nil {
					t.Fatalf("-tags %q does not build: go list -export: %v\n%s", tags, err, out)
				}
			}
			cmd := exec.Command(goTool, "list", "-deps", "-tags", tags, "-f", format, daemonPkg)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps -tags %q: %v\n%s", tags, err, stderr.String())
			}
			pkgs, err := parseGoList(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range checkDeps(pkgs) {
				t.Error(msg)
			}
			linked := map[string]bool{}
			for _, p := range pkgs {
				linked[p.ImportPath] = true
				for _, pat := range tc.absent {
					if matchPattern(pat, p.ImportPath) {
						t.Errorf("-tags %q links %s (want nothing matching %s)", tags, p.ImportPath, pat)
					}
				}
			}
			for _, p := range tc.present {
				if !linked[p] {
					t.Errorf("-tags %q does not link %s", tags, p)
				}
			}
		})
	}
}

// TestOmittedFeatureConfig builds the daemon with every omit tag and checks
// that `leafbox -t` refuses each key of a left-out part, at its place.
func TestOmittedFeatureConfig(t *testing.T) {
	goTool := testenv.NeedTool(t, "go", "the Go toolchain, to build the daemon without its optional parts")
	dir := t.TempDir()
	bin := filepath.Join(dir, "leafbox")
	build := exec.Command(goTool, "build", "-tags", omitTags(feature.All()...), "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "omit.conf")
	err := os.WriteFile(conf, []byte(`listen: 127.0.0.1:4222
mqtt { listen: 127.0.0.1:1883 }
leafnodes {
  remotes: [
    { url: "ws://hub:7422", compression: s2_fast }
    { url: "nats-leaf://hub:7422", compression: off }
  ]
}
bridges {
  serial: [ { port: /dev/ttyS0, subject: s } ]
  gpio: [ { line: 17, subject: g } ]
  modbus: []
  mqtt: []
}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput()
	if err == nil {
		t.Fatalf("leafbox -t accepted a config using left-out parts:\n%s", out)
	}
	want := []string{
		conf + ":2: mqtt: " + feature.MQTT.Err().Error(),
		conf + ":5: leafnodes.remotes[0].compression: " + feature.S2.Err().Error(),
		conf + ":5: leafnodes.remotes[0].url: " + feature.Websocket.Err().Error(),
		conf + ":10: bridges.serial: " + feature.Serial.Err().Error(),
		conf + ":11: bridges.gpio: " + feature.GPIO.Err().Error(),
		conf + ":12: bridges.modbus: " + feature.Modbus.Err().Error(),
		conf + ":13: bridges.mqtt: " + feature.MQTTBridge.Err().Error(),
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("leafbox -t output lacks %q", w)
		}
	}
	if strings.Contains(string(out), "remotes[1]") {
		t.Errorf("leafbox -t refused the uncompressed nats-leaf remote:\n%s", out)
	}
	if t.Failed() {
		t.Logf("leafbox -t output:\n%s", out)
	}
	// The same build runs a config that uses none of them.
	plain := filepath.Join(dir, "plain.conf")
	if err := os.WriteFile(plain, []byte("listen: 127.0.0.1:4222\nleafnodes { remotes: [ { url: \"nats-leaf://hub:7422\" } ] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-c", plain).CombinedOutput(); err != nil {
		t.Errorf("leafbox -t on a config without left-out parts: %v\n%s", err, out)
	}
}

// TestBuildrootFeatureOptions checks that every optional part has its
// Buildroot option, on by default, and that leafbox.mk maps the option
// switched off to the part's omit tag.
func TestBuildrootFeatureOptions(t *testing.T) {
	dir := filepath.Join("..", "..", "buildroot", "package", "leafbox")
	cfg, err := os.ReadFile(filepath.Join(dir, "Config.in"))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(dir, "leafbox.mk"))
	if err != nil {
		t.Fatal(err)
	}
	options := map[string]bool{} // option name -> default y
	var current string
	for line := range strings.Lines(string(cfg)) {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "config "); ok {
			current = name
			options[current] = false
		} else if line == "default y" && current != "" {
			options[current] = true
		}
	}
	mapped := map[string]string{} // tag -> option
	lines := strings.Split(string(mk), "\n")
	for i, line := range lines {
		opt, ok := strings.CutPrefix(line, "ifneq ($(")
		if !ok || i+1 >= len(lines) {
			continue
		}
		opt, _, _ = strings.Cut(opt, ")")
		if tag, ok := strings.CutPrefix(lines[i+1], "LEAFBOX_TAGS += "); ok {
			mapped[strings.TrimSpace(tag)] = opt
		}
	}
	for _, f := range feature.All() {
		opt, ok := mapped[f.OmitTag()]
		if !ok {
			t.Errorf("leafbox.mk does not add %s when an option is off", f.OmitTag())
			continue
		}
		if !strings.HasPrefix(opt, "BR2_PACKAGE_LEAFBOX_") {
			t.Errorf("%s is mapped from %s, want a BR2_PACKAGE_LEAFBOX_ option", f.OmitTag(), opt)
		}
		if def, ok := options[opt]; !ok {
			t.Errorf("Config.in has no %s (for %v)", opt, f)
		} else if !def {
			t.Errorf("Config.in: %s is not default y; the default image keeps every part", opt)
		}
	}
}

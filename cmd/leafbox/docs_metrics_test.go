package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	dto "github.com/prometheus/client_model/go"

	"github.com/leafbox/leafbox/internal/testutil"
)

// The Grafana dashboard and the alert rules under docs/ name metrics;
// these tests keep them true to the daemon's /metrics, so a renamed or
// removed family breaks the build instead of a fleet's dashboard.

const (
	dashboardFile = "../../docs/grafana/leafbox-dashboard.json"
	alertsFile    = "../../docs/prometheus/leafbox-alerts.yml"
)

// metricName matches the metric names of a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:leafbox|gnatsd)_[a-z0-9_]+`)

// dashboardExprs are the PromQL expressions of every panel target and
// template query of the dashboard, which must be valid JSON.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return exprs
}

// alertExprs are the expr lines of the alert rules, with the alert names.
func alertExprs(t *testing.T) (exprs, alerts []string) {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if e, ok := strings.CutPrefix(line, "expr:"); ok {
			exprs = append(exprs, strings.TrimSpace(e))
		}
		if a, ok := strings.CutPrefix(line, "- alert:"); ok {
			alerts = append(alerts, strings.TrimSpace(a))
		}
	}
	if len(exprs) != len(alerts) {
		t.Fatalf("%s: %d alerts but %d one-line exprs", alertsFile, len(alerts), len(exprs))
	}
	return exprs, alerts
}

// otaBlock is the ota block of a device with two slot files in dir and
// file boot control, trusting a fresh operator key.
func otaBlock(t *testing.T, dir string) string {
	t.Helper()
	kp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	operator, _ := kp.PublicKey()
	for _, s := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, "rootfs-"+s), []byte("slot "+s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("ota { trusted_keys: [%q], board: qemu, boot_control: file, boot_file: %q, slots { a: { rootfs: %q }, b: { rootfs: %q } } }",
		operator, filepath.Join(dir, "boot.json"), filepath.Join(dir, "rootfs-a"), filepath.Join(dir, "rootfs-b"))
}

// knownFamily reports whether name is a family of mfs, or the _bucket,
// _sum or _count series of a histogram family.
func knownFamily(mfs map[string]*dto.MetricFamily, name string) bool {
	if mfs[name] != nil {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && mfs[base].GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// TestDocsMetricNames runs a daemon with every component (store and
// forward rules, a leaf uplink to a real hub, the MQTT listener, a GPIO
// bridge, device identity and OTA) and checks that each metric the
// dashboard and the alert rules use is in its /metrics.
func TestDocsMetricNames(t *testing.T) {
	dashboard := dashboardExprs(t)
	alerts, names := alertExprs(t)
	for _, want := range []string{"LeafboxForwardQueueOld", "LeafboxUplinkDown", "LeafboxAuthFailures", "LeafboxStoreDamaged", "LeafboxBridgeDown"} {
		if !slices.Contains(names, want) {
			t.Errorf("alert %s missing from %s", want, alertsFile)
		}
	}

	_, hubPort := startLeafHub(t, "")
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], name: TELE, ack: flush } ] }
mqtt { listen: 127.0.0.1:%d }
bridges { gpio = [ { chip: "no-such-chip", line: 17, name: door } ] }
device {
  identity { dir: %q }
  %s
}
`, hubPort, filepath.Join(dir, "store"), testutil.FreePort(t), filepath.Join(dir, "id"), otaBlock(t, dir)))
	d := daemonStartRun(t, "-c", conf)
	var mfs map[string]*dto.MetricFamily
	testutil.WaitForf(t, 10*time.Second, func() bool {
		mfs = scrape(t, d.http)
		up, _ := metricValue(mfs, "leafbox_leaf_connected", "remote", "0")
		return up == 1 && mfs["leafbox_bridge_up"] != nil
	}, "uplink or bridge families never appeared")

	checked := map[string]bool{}
	check := func(file string, exprs []string) {
		n := 0
		for _, e := range exprs {
			for _, name := range metricName.FindAllString(e, -1) {
				n++
				checked[name] = true
				if !knownFamily(mfs, name) {
					t.Errorf("%s uses %s, which the daemon's /metrics does not have (in %q)", file, name, e)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no metric names found", file)
		}
	}
	check(dashboardFile, dashboard)
	check(alertsFile, alerts)
	// The dashboard covers every component: a family per component, at least.
	for _, prefix := range []string{"leafbox_forward_", "leafbox_store_", "leafbox_leaf_", "leafbox_mqtt_", "leafbox_bridge_",
		"leafbox_device_", "leafbox_auth_", "leafbox_permission_", "leafbox_go_", "gnatsd_varz_"} {
		found := false
		for name := range checked {
			found = found || strings.HasPrefix(name, prefix)
		}
		if !found {
			t.Errorf("no %s* metric in the dashboard or alerts", prefix)
		}
	}
	t.Logf("%d metric names checked", len(checked))
}

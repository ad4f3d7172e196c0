package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"github.com/leafbox/leafbox/bridge/serial/serialtest"
	"github.com/leafbox/leafbox/internal/testenv"
	"github.com/leafbox/leafbox/internal/testutil"
)

// The status page in a real browser: headless Chromium loads / from a
// running daemon, the page's JavaScript fetches /statusz and fills in the
// values, and the test reads them from the DOM Chromium dumps.

// artifactsEnv names a directory that keeps the screenshots and DOMs of
// these tests (CI uploads it); without it they go to a temporary
// directory.
const artifactsEnv = "LEAFBOX_TEST_ARTIFACTS"

func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	return dir
}

// browser loads url in headless Chromium, lets its scripts run for a
// second of virtual time (the page polls every 5s, so it renders once),
// and returns the DOM. With shot set it also writes a screenshot there.
func browser(t *testing.T, url, shot string) string {
	t.Helper()
	bin := testenv.NeedTool(t, "chromium", "Debian package chromium; scripts/deps.sh test")
	args := []string{"--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=1500", "--window-size=1000,1350",
		"--hide-scrollbars", "--dump-dom"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium's sandbox refuses to run as root
	}
	if shot != "" {
		args = append(args, "--screenshot="+shot)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr daemonBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// domText is the text of the element with id in a dumped DOM, and whether
// there is one. The page sets values with textContent, so the text has no
// markup of its own.
func domText(dom, id string) (string, bool) {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// expectDOM checks the text of each id.
func expectDOM(t *testing.T, dom string, want map[string]string) {
	t.Helper()
	for id, w := range want {
		if got, ok := domText(dom, id); !ok || got != w {
			t.Errorf("#%s = %q (present %v), want %q", id, got, ok, w)
		}
	}
}

// statusz fetches the daemon's /statusz.
func statuszOf(t *testing.T, httpAddr string) map[string]any {
	t.Helper()
	return daemonGetJSON(t, "http://"+httpAddr+"/statusz")
}

func forwardField(st map[string]any, rule, field string) float64 {
	for _, f := range st["forward"].([]any) {
		m := f.(map[string]any)
		if m["rule"] == rule {
			v, _ := m[field].(float64)
			return v
		}
	}
	return -1
}

// TestStatusPageBrowser: a daemon with a store and two forward rules, a
// leaf uplink to a real nats-server, an MQTT device connected with paho,
// a NATS client, a serial bridge that is up, a GPIO bridge that is down,
// and A/B OTA. Chromium renders the page, which shows the version and device,
// the uplink up with an RTT, the rule's messages acknowledged by the hub,
// one MQTT and one NATS client, both bridges with their state, the
// running slot and OTA state, and the chart.
func TestStatusPageBrowser(t *testing.T) {
	testenv.NeedTool(t, "chromium", "Debian package chromium; scripts/deps.sh test")
	_, hubPort := startLeafHub(t, "")
	pty := serialtest.Open(t)
	mqttPort := testutil.FreePort(t)
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw-lab-7
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], name: TELE, ack: flush }, { subjects: ["logs.>"], name: LOGS, ack: flush } ] }
mqtt { listen: 127.0.0.1:%d }
device { identity { dir: %q }, %s }
bridges {
  serial = [ { name: meter, port: %q, subject: "telemetry.{name}" } ]
  gpio = [ { chip: "no-such-chip", line: 17, name: door } ]
}
`, hubPort, filepath.Join(dir, "store"), mqttPort, filepath.Join(dir, "id"), otaBlock(t, dir), pty.Path))
	d := daemonStartRun(t, "-c", conf)

	mc := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(mqttPort)).
		SetClientID("sensor-1").SetConnectTimeout(3 * time.Second).SetAutoReconnect(false))
	if tok := mc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer mc.Disconnect(0)
	nc, err := nats.Connect("nats://"+d.client, nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	const n = 25
	for i := range n {
		if tok := mc.Publish("telemetry/temp", 1, false, []byte(strconv.Itoa(20+i))); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("mqtt publish: %v", tok.Error())
		}
	}
	// Wait until the page's data is what the test expects, so the
	// browser sees a settled state: the uplink up with an RTT, every
	// message acknowledged by the hub, the serial bridge up and the
	// GPIO bridge down.
	var st map[string]any
	testutil.WaitForf(t, 10*time.Second, func() bool {
		st = statuszOf(t, d.http)
		up := st["uplinks"].([]any)[0].(map[string]any)
		bridges := map[string]string{}
		for _, b := range st["bridges"].([]any) {
			m := b.(map[string]any)
			bridges[m["name"].(string)] = m["state"].(string)
		}
		return up["connected"] == true && up["rtt_seconds"].(float64) > 0 &&
			forwardField(st, "TELE", "acked") == n && forwardField(st, "TELE", "queued") == 0 &&
			bridges["meter"] == "up" && bridges["door"] == "down"
	}, "status never settled: %v", st)

	arts := artifactDir(t)
	dom := browser(t, "http://"+d.http+"/", filepath.Join(arts, "status-page.png"))
	if err := os.WriteFile(filepath.Join(arts, "status-page.html"), []byte(dom), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot and DOM in %s", arts)

	expectDOM(t, dom, map[string]string{
		"version":              version,
		"server-name":          "gw-lab-7",
		"device-id":            st["device_id"].(string),
		"health":               "ok",
		"nats-clients":         "1",
		"mqtt-clients":         "1",
		"uplink-0-state":       "up",
		"uplink-0-connects":    "1",
		"fwd-TELE-queued":      "0",
		"fwd-TELE-acked":       strconv.Itoa(n),
		"fwd-LOGS-queued":      "0",
		"bridge-meter-state":   "up",
		"bridge-door-state":    "down",
		"bridge-door-kind":     "gpio",
		"bridge-meter-kind":    "serial",
		"bridge-meter-error":   "",
		"uplink-0-url":         "127.0.0.1:" + strconv.Itoa(hubPort),
		"fwd-TELE-dropped":     "0",
		"fwd-TELE-in-flight":   "0",
		"uplink-0-disconnects": "0",
	})
	ota := st["ota"].(map[string]any)
	if ota["booted"] == "" || ota["state"] == "" {
		t.Fatalf("/statusz ota %v", ota)
	}
	expectDOM(t, dom, map[string]string{"slot": ota["booted"].(string), "ota-state": ota["state"].(string)})
	if rtt, _ := domText(dom, "uplink-0-rtt"); !regexp.MustCompile(`^\d+\.\d\d ms$`).MatchString(rtt) {
		t.Errorf("#uplink-0-rtt = %q, want a round trip in ms", rtt)
	}
	if e, _ := domText(dom, "bridge-door-error"); e == "" {
		t.Errorf("#bridge-door-error is empty, want the GPIO error")
	}
	if !regexp.MustCompile(`<polyline [^>]*points="[0-9.]+,[0-9.]+`).MatchString(dom) {
		t.Errorf("no chart line drawn")
	}
	if u, _ := domText(dom, "updated"); !regexp.MustCompile(`^updated `).MatchString(u) {
		t.Errorf("#updated = %q: the page did not render /statusz", u)
	}
}

// TestStatusPageBrowserUplinkDown: the uplink's hub is not there, so what
// is published queues up. The page shows the uplink down, the queue with
// the age of its oldest record, the chart of the queue climbing from the
// empty queue sampled at start, and the daemon's warning.
func TestStatusPageBrowserUplinkDown(t *testing.T) {
	testenv.NeedTool(t, "chromium", "Debian package chromium; scripts/deps.sh test")
	dead := testutil.FreePort(t) // nothing listens there
	// The monitor on every interface without http_auth gives the page a
	// warning to show; the browser still only talks to 127.0.0.1.
	httpPort := daemonFreePort(t)
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: "0.0.0.0:%d"
server_name: gw-offline
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d" } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], name: TELE, ack: flush } ] }
`, httpPort, dead, filepath.Join(dir, "store")))
	d := daemonStartRun(t, "-c", conf)
	d.http = "127.0.0.1:" + strconv.Itoa(httpPort)
	nc, err := nats.Connect("nats://"+d.client, nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	publish := func(count int, want float64) {
		t.Helper()
		for range count {
			if err := nc.Publish("telemetry.temp", []byte("21.5")); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		testutil.WaitForf(t, 5*time.Second, func() bool {
			return forwardField(statuszOf(t, d.http), "TELE", "queued") == want
		}, "TELE never held %v records", want)
	}
	publish(10, 10)
	publish(15, 25)
	arts := artifactDir(t)
	dom := browser(t, "http://"+d.http+"/", filepath.Join(arts, "status-page-down.png"))
	if err := os.WriteFile(filepath.Join(arts, "status-page-down.html"), []byte(dom), 0o644); err != nil {
		t.Fatal(err)
	}
	expectDOM(t, dom, map[string]string{
		"server-name":       "gw-offline",
		"uplink-0-state":    "down",
		"uplink-0-rtt":      "–",
		"uplink-0-connects": "0",
		"fwd-TELE-queued":   "25",
		"fwd-TELE-acked":    "0",
		"max-queued":        "25",
		"nats-clients":      "1",
		"mqtt-clients":      "off",
	})
	if age, _ := domText(dom, "fwd-TELE-oldest"); age == "–" || age == "" {
		t.Errorf("#fwd-TELE-oldest = %q, want the age of the oldest record", age)
	}
	if m := regexp.MustCompile(`id="warnings"[^>]*><li>([^<]*)</li>`).FindStringSubmatch(dom); m == nil || !strings.Contains(m[1], "without http_auth") {
		t.Errorf("warnings not shown: %q", m)
	}
	// The queue chart climbs from the empty queue sampled at start to
	// its top (y 3 of 100) at the point taken for the page.
	m := regexp.MustCompile(`id="chart-queued"[^>]*><polyline [^>]*points="([^"]+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no queue chart line drawn")
	}
	pts := strings.Fields(m[1])
	if len(pts) < 2 || !strings.HasSuffix(pts[0], ",97.0") || !strings.HasSuffix(pts[len(pts)-1], ",3.0") {
		t.Errorf("queue chart points %q, want a climb from 97.0 to 3.0", pts)
	}
}

// The DOM helper finds what the page writes, and nothing else.
func TestDomText(t *testing.T) {
	dom := `<td id="fwd-A-queued" class="n">7</td><td id="x">a</td>`
	if v, ok := domText(dom, "fwd-A-queued"); !ok || v != "7" {
		t.Errorf("got %q %v", v, ok)
	}
	if _, ok := domText(dom, "fwd-A"); ok {
		t.Errorf("prefix matched")
	}
}

// TestStatusPageBrowserAuth: behind http_auth the page renders for a
// browser that has the credentials (given in the URL, the way a
// technician's bookmark might), its requests to /statusz included: fetch
// refuses a URL with credentials, so the page must strip them and let
// the browser send what it has for the origin. (401 without credentials
// is TestDaemonMonitorAuth's.)
func TestStatusPageBrowserAuth(t *testing.T) {
	testenv.NeedTool(t, "chromium", "Debian package chromium; scripts/deps.sh test")
	hash, err := bcrypt.GenerateFromPassword([]byte("field-laptop"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	conf := daemonWriteConf(t, t.TempDir(), "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw-locked
http_auth { user: tech, password: %q }
`, hash))
	d := daemonStartRun(t, "-c", conf)
	dom := browser(t, "http://tech:field-laptop@"+d.http+"/", "")
	expectDOM(t, dom, map[string]string{"server-name": "gw-locked", "nats-clients": "0", "health": "ok"})
	if u, _ := domText(dom, "updated"); !strings.HasPrefix(u, "updated ") {
		t.Errorf("#updated = %q: /statusz was not read with the page's credentials", u)
	}
}

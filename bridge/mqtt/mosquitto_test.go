package mqtt

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testenv"
	"github.com/leafbox/leafbox/internal/testutil"
)

// needBinary skips the test when a mosquitto program is missing (Debian
// packages mosquitto and mosquitto-clients); see testenv.Skip.
func needBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.NeedTool(t, name, "Debian package "+pkg)
}

// TestMosquittoClients drives the listener with mosquitto_pub and
// mosquitto_sub: QoS 0/1/2, MQTT 3.1 and 3.1.1, retained, credentials.
func TestMosquittoClients(t *testing.T) {
	pubBin := needBinary(t, "mosquitto_pub", "mosquitto-clients")
	subBin := needBinary(t, "mosquitto_sub", "mosquitto-clients")
	srv := startBroker(t)
	auth := func(user, pass string, _ bool) (Login, error) {
		if user == "dev" && pass == "pw" {
			return Login{}, nil
		}
		return Login{}, fmt.Errorf("bad credentials")
	}
	tl := startListener(t, srv, Config{}, Deps{Auth: auth})
	p := strconv.Itoa(port(tl.Listener))
	common := []string{"-h", "127.0.0.1", "-p", p, "-u", "dev", "-P", "pw"}
	for _, tc := range []struct {
		name, version string
		qos           string
		retain        bool
	}{
		{"qos0 v311", "mqttv311", "0", false},
		{"qos1 v31", "mqttv31", "1", false},
		{"qos2 v311", "mqttv311", "2", false},
		{"retained qos1", "mqttv311", "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "cli/" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.retain {
				args := append([]string{"-t", topic, "-m", "kept", "-q", tc.qos, "-r", "-V", tc.version}, common...)
				if out, err := exec.Command(pubBin, args...).CombinedOutput(); err != nil {
					t.Fatalf("mosquitto_pub: %v: %s", err, out)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"-t", topic, "-q", tc.qos, "-C", "1", "-v", "-V", tc.version, "-i", "sub-" + tc.qos}, common...)
			sub := exec.CommandContext(ctx, subBin, args...)
			var out strings.Builder
			sub.Stdout = &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			if !tc.retain {
				// Publish until the subscriber has its message (it needs
				// time to subscribe; no sleep guesses how long).
				done := make(chan error, 1)
				go func() { done <- sub.Wait() }()
				for {
					args := append([]string{"-t", topic, "-m", "hello", "-q", tc.qos, "-V", tc.version}, common...)
					exec.Command(pubBin, args...).Run()
					select {
					case err := <-done:
						if err != nil {
							t.Fatalf("mosquitto_sub: %v", err)
						}
						if got := strings.TrimSpace(out.String()); got != topic+" hello" {
							t.Fatalf("got %q", got)
						}
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v", err)
			}
			if got := strings.TrimSpace(out.String()); got != topic+" kept" {
				t.Fatalf("got %q", got)
			}
		})
	}
	// Wrong password: mosquitto_pub fails.
	if err := exec.Command(pubBin, "-h", "127.0.0.1", "-p", p, "-u", "dev", "-P", "no", "-t", "x", "-m", "x").Run(); err == nil {
		t.Fatal("mosquitto_pub with a wrong password succeeded")
	}
}

// startMosquitto runs a mosquitto broker on port (0: a free one).
func startMosquitto(t *testing.T, port int) (int, func()) {
	t.Helper()
	bin := needBinary(t, "mosquitto", "mosquitto")
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)), 0o644)
	cmd := testutil.DieWithTest(exec.Command(bin, "-c", conf))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "mosquitto on port %d", port)
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	return port, stop
}

// TestClientBridgeWithMosquitto: import, export, no loop back, and
// reconnect after mosquitto restarts.
func TestClientBridgeWithMosquitto(t *testing.T) {
	mport, stopMosq := startMosquitto(t, 0)
	url := "tcp://127.0.0.1:" + strconv.Itoa(mport)
	srv := startBroker(t)
	blc := srv.NewLocalClient(broker.LocalOptions{Name: "bridge", NoEcho: true})
	defer blc.Close()
	b, err := NewBridge(BridgeConfig{
		Name: "plant", URL: url, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Import: []ImportRule{{Topic: "plant/#", Subject: "site.>", QoS: 1}},
		Export: []ExportRule{{Subject: "site.>", Topic: "plant/#", QoS: 1}, {Subject: "cmd.>", QoS: 0}},
	}, localConn{blc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	app := srv.NewLocalClient(broker.LocalOptions{Name: "app"})
	defer app.Close()
	var mu sync.Mutex
	var got []string
	app.Subscribe("site.>", "", func(m broker.Msg) {
		mu.Lock()
		got = append(got, string(m.Subject)+"="+string(m.Data))
		mu.Unlock()
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	ext := &received{}
	extOpts := pahoOpts(url, "ext").SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetOnConnectHandler(func(c paho.Client) { c.Subscribe("cmd/#", 1, ext.handler) })
	extc := connect(t, extOpts)

	// Import: external publish reaches the subject, once (the bridge's
	// export of site.> must not send it back to plant/#).
	testutil.WaitForf(t, 10*time.Second, func() bool {
		extc.Publish("plant/line1/temp", 1, false, []byte("20")).Wait()
		return count() > 0
	}, "import")
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	first := got[0]
	mu.Unlock()
	if first != "site.plant.line1.temp=20" {
		t.Fatalf("imported %q", first)
	}

	// Export: a subject reaches the external broker.
	testutil.WaitForf(t, 10*time.Second, func() bool {
		app.Publish(broker.Msg{Subject: []byte("cmd.valve"), Data: []byte("open")})
		return ext.len() > 0
	}, "export")
	if m := ext.get(0); m.Topic() != "cmd/valve" || string(m.Payload()) != "open" {
		t.Fatalf("exported %q %q", m.Topic(), m.Payload())
	}

	// Restart mosquitto on the same port: the bridge comes back.
	stopMosq()
	startMosquitto(t, mport)
	n := ext.len()
	testutil.WaitForf(t, 15*time.Second, func() bool {
		app.Publish(broker.Msg{Subject: []byte("cmd.valve"), Data: []byte("again")})
		return ext.len() > n
	}, "export after mosquitto restart")
	before := count()
	testutil.WaitForf(t, 15*time.Second, func() bool {
		extc.Publish("plant/line2", 1, false, []byte("back")).Wait()
		return count() > before
	}, "import after mosquitto restart")
}

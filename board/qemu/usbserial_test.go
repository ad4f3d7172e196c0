package qemu_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/internal/testutil"
)

// The emulated USB serial adapter: QEMU's usb-serial, an FTDI FT232, on
// an XHCI controller. Its serial number makes the stable name that the
// board's serial bridge is configured with; the guest has no udev, so the
// bridge finds that name in sysfs itself (bridge/serial resolvePort).
const (
	usbSerialID     = "ftdi0"
	usbSerialNumber = "LB0001"
	usbSerialDevice = "usb-serial,bus=xhci.0,chardev=ftdi,id=" + usbSerialID + ",serial=" + usbSerialNumber
	usbSerialByID   = "/dev/serial/by-id/usb-QEMU_QEMU_USB_SERIAL_" + usbSerialNumber + "-if00-port0"
	// Subjects of the serial bridge in the test's local.conf.
	usbSerialRx = "hil.serial.rx"
	usbSerialTx = "hil.serial.tx"
)

// usbSerialConf is the bridges block of the test card's local.conf.
const usbSerialConf = `bridges {
  retry_min: 200ms
  retry_max: 3s
  serial = [ { name: ftdi, port: "` + usbSerialByID + `", baud: 115200, framing: line,
               subject: ` + usbSerialRx + `, command_subject: ` + usbSerialTx + ` } ]
}
`

// qmp is a QEMU Machine Protocol session: commands and their replies,
// with the asynchronous events kept for waitEvent.
type qmp struct {
	t    testing.TB
	conn net.Conn
	dec  *json.Decoder
}

// qmpMsg is any QMP message.
type qmpMsg struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// dialQMP connects to the board's QMP socket and leaves capability
// negotiation.
func (b *board) dialQMP(t testing.TB) *qmp {
	t.Helper()
	conn, err := net.Dial("unix", b.qmpSock)
	if err != nil {
		t.Fatalf("qmp: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	q := &qmp{t: t, conn: conn, dec: json.NewDecoder(conn)}
	var greeting map[string]any
	conn.SetDeadline(time.Now().Add(time.Minute))
	if err := q.dec.Decode(&greeting); err != nil {
		t.Fatalf("qmp greeting: %v", err)
	}
	q.exec("qmp_capabilities", nil)
	return q
}

// exec runs a command and fails the test on an error reply. Events that
// arrive before the reply are skipped.
func (q *qmp) exec(command string, args map[string]any) {
	q.t.Helper()
	req, _ := json.Marshal(map[string]any{"execute": command, "arguments": args})
	if args == nil {
		req, _ = json.Marshal(map[string]any{"execute": command})
	}
	q.conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := q.conn.Write(req); err != nil {
		q.t.Fatalf("qmp %s: %v", command, err)
	}
	for {
		var m qmpMsg
		if err := q.dec.Decode(&m); err != nil {
			q.t.Fatalf("qmp %s: %v", command, err)
		}
		if m.Error != nil {
			q.t.Fatalf("qmp %s: %s: %s", command, m.Error.Class, m.Error.Desc)
		}
		if m.Event == "" {
			return
		}
	}
}

// waitEvent waits for an event whose data contains want.
func (q *qmp) waitEvent(event, want string, timeout time.Duration) {
	q.t.Helper()
	q.conn.SetDeadline(time.Now().Add(timeout))
	for {
		var m qmpMsg
		if err := q.dec.Decode(&m); err != nil {
			q.t.Fatalf("qmp: waiting for %s: %v", event, err)
		}
		if m.Event == event && strings.Contains(string(m.Data), want) {
			return
		}
	}
}

// bridgeState reads the serial bridge's state and restarts from the
// board's /bridgez (loopback only) through the console shell.
func (b *board) bridgeState() (state string, restarts string) {
	b.t.Helper()
	out := b.shell(`wget -qO- http://127.0.0.1:8222/bridgez | tr -d ' \n' | grep -o '"state":"[a-z]*"\|"restarts":[0-9]*'`, time.Minute)
	if m := regexp.MustCompile(`"state":"([a-z]+)"`).FindStringSubmatch(out); m != nil {
		state = m[1]
	}
	if m := regexp.MustCompile(`"restarts":(\d+)`).FindStringSubmatch(out); m != nil {
		restarts = m[1]
	}
	return state, restarts
}

// testUSBSerial drives the serial bridge over the emulated FTDI adapter:
// the guest's xhci-pci, usbserial and ftdi_sio drivers, /dev/ttyUSB0
// found by its /dev/serial/by-id name, termios through the real driver.
// Frames written by the host reach NATS and commands from NATS reach the
// host; unplugging the adapter with QMP (device_del) shows the bridge
// down in /bridgez while other clients carry on, and plugging it back
// (device_add) brings the bridge up again by itself.
func testUSBSerial(t *testing.T, b *board, connect func(t *testing.T) *nats.Conn) {
	b.t = t
	// Connecting to the chardev attaches the adapter to the guest's bus.
	host, err := net.Dial("unix", b.serialSock)
	if err != nil {
		t.Fatalf("the adapter's host side: %v", err)
	}
	defer host.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		r := bufio.NewReader(host)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	nc := connect(t)
	defer nc.Close()
	rx, err := nc.SubscribeSync(usbSerialRx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// waitUp waits for the bridge to be up; then a frame written now is
	// read by it.
	waitUp := func(t *testing.T) {
		testutil.WaitForf(t, bootTimeout, func() bool {
			s, _ := b.bridgeState()
			return s == "up"
		}, "the serial bridge up in /bridgez")
	}
	// roundTrip writes frame to the adapter and waits for it on NATS.
	roundTrip := func(t *testing.T, frame string) {
		t.Helper()
		if _, err := fmt.Fprintf(host, "%s\r\n", frame); err != nil {
			t.Fatalf("write to the adapter: %v", err)
		}
		for {
			m, err := rx.NextMsg(time.Minute)
			if err != nil {
				t.Fatalf("frame %q did not reach NATS: %v", frame, err)
			}
			if string(m.Data) == frame {
				return
			}
		}
	}

	t.Run("frames and commands", func(t *testing.T) {
		b.t = t
		waitUp(t)
		for i := range 10 {
			roundTrip(t, fmt.Sprintf("f%d", i))
		}
		if err := nc.Publish(usbSerialTx, []byte("cmd-1")); err != nil {
			t.Fatal(err)
		}
		select {
		case l := <-lines:
			if l != "cmd-1" {
				t.Fatalf("the adapter got %q, want cmd-1", l)
			}
		case <-time.After(time.Minute):
			t.Fatal("the command did not reach the adapter")
		}
		// The bridge's baud rate went through the real driver's termios.
		out := b.shell(`ls -l /dev/ttyUSB0; stty -F /dev/ttyUSB0 | grep -o 'speed [0-9]*'`, time.Minute)
		if !regexp.MustCompile(`speed 115200`).MatchString(out) {
			t.Errorf("ttyUSB0's termios: %q, want speed 115200", out)
		}
	})

	t.Run("hot-plug", func(t *testing.T) {
		b.t = t
		q := b.dialQMP(t)
		// Frames flow while the adapter is pulled: a bounded writer.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for i := range 2000 {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				host.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				fmt.Fprintf(host, "flow-%d\r\n", i)
			}
		})
		stopped := false
		stopFlow := func() {
			if !stopped {
				close(stop)
				wg.Wait()
				host.SetWriteDeadline(time.Time{})
				stopped = true
			}
		}
		defer stopFlow()
		if _, err := rx.NextMsg(time.Minute); err != nil {
			t.Fatalf("no frames flowing before the unplug: %v", err)
		}
		q.exec("device_del", map[string]any{"id": usbSerialID})
		q.waitEvent("DEVICE_DELETED", usbSerialID, time.Minute)
		testutil.WaitForf(t, time.Minute, func() bool {
			s, _ := b.bridgeState()
			return s == "down" || s == "starting"
		}, "the serial bridge down in /bridgez after the unplug")
		// Other clients are undisturbed: the connection is the same one
		// and a round trip through the board works.
		if !nc.IsConnected() {
			t.Fatal("the NATS client lost its connection when the adapter was unplugged")
		}
		resp, err := nc.SubscribeSync("hil.other")
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish("hil.other", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := resp.NextMsg(30 * time.Second); err != nil {
			t.Fatalf("round trip while the adapter is out: %v", err)
		}
		stopFlow()

		q.exec("device_add", map[string]any{"driver": "usb-serial", "bus": "xhci.0", "chardev": "ftdi",
			"id": usbSerialID, "serial": usbSerialNumber})
		waitUp(t)
		if _, restarts := b.bridgeState(); restarts == "" || restarts == "0" {
			t.Errorf("restarts %q after the unplug, want at least 1", restarts)
		}
		roundTrip(t, "after-replug")
		if err := nc.Publish(usbSerialTx, []byte("cmd-2")); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case l := <-lines:
				if l == "cmd-2" {
					return
				}
			case <-time.After(time.Minute):
				t.Fatal("a command after the replug did not reach the adapter")
			}
		}
	})
}

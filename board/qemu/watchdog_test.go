package qemu_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

const (
	// wdtTimeout is the hardware watchdog's timeout in the test images
	// (LEAFBOX_WATCHDOG_TIMEOUT); leafbox pets every wdtTimeout/3.
	wdtTimeout = 15 * time.Second
	// healthyTimeouts is how many timeouts a healthy board must outlive.
	healthyTimeouts = 3
	// bootLine is U-Boot's boot script starting a slot: one per boot.
	bootLine = `leafbox: booting slot [ab] \(partition`
)

// watchdogPets reads the pets counter from the board's /varz (the
// monitoring port listens on the guest's loopback only), through the
// console shell.
func (b *board) watchdogPets() int {
	b.t.Helper()
	out := b.shell(`wget -qO- http://127.0.0.1:8222/varz | tr -d ' \n' | grep -o '"pets":[0-9]*'`, time.Minute)
	m := regexp.MustCompile(`"pets":(\d+)`).FindStringSubmatch(out)
	if m == nil {
		b.t.Fatalf("no watchdog pets in /varz: %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// hangLeafbox stops the daemon with SIGSTOP inside the guest: it still
// holds /dev/watchdog open, and pets no more.
func (b *board) hangLeafbox() {
	b.t.Helper()
	b.shell(`kill -STOP $(pidof leafbox)`, time.Minute)
}

// testWatchdog drives the i6300esb watchdog through Debian's i6300esb
// driver and leafbox's real ioctls (device/watchdog.Open): a healthy
// daemon keeps the board running for several timeouts, a clean stop
// disarms the watchdog with the magic close, and a hung daemon gets the
// board reset by the hardware, after which identity and the store (checked
// by the later subtests) are still there. b runs leafbox with the hub away.
func testWatchdog(t *testing.T, b *board, deviceID string) {
	b.t = t
	boots := b.consoleCount(bootLine)

	t.Run("armed through the driver", func(t *testing.T) {
		b.t = t
		// Programmed with WDIOC_SETTIMEOUT and read back with
		// WDIOC_GETTIMEOUT from the driver: the driver's own default is
		// 30 s, so 15 s here is the ioctl's doing.
		if b.consoleCount(fmt.Sprintf(`msg="watchdog armed" component=device device=/dev/watchdog timeout=%v`, wdtTimeout)) == 0 {
			t.Fatalf("the console shows no watchdog armed with timeout=%v", wdtTimeout)
		}
		if b.consoleHas("watchdog: the previous boot ended in a watchdog reset") {
			t.Error("the first boot reports a watchdog reset before any happened")
		}
	})

	t.Run("healthy board keeps running", func(t *testing.T) {
		b.t = t
		// One pet per interval (timeout/3): this many pets span the
		// timeouts, and any of them would have reset a board left alone.
		p0 := b.watchdogPets()
		want := p0 + healthyTimeouts*3
		start := time.Now()
		testutil.WaitForf(t, time.Duration(healthyTimeouts+2)*wdtTimeout+2*time.Minute, func() bool {
			return b.watchdogPets() >= want
		}, "%d watchdog pets (had %d)", want, p0)
		if n := b.consoleCount(bootLine); n != boots {
			t.Fatalf("the board rebooted while leafbox was healthy (%d boots, want %d)", n, boots)
		}
		t.Logf("%d pets in %v (timeout %v), no reset", want-p0, time.Since(start).Round(time.Second), wdtTimeout)
	})

	t.Run("clean stop disarms", func(t *testing.T) {
		b.t = t
		// Keep init from starting leafbox again (it respawns
		// /usr/sbin/leafbox-run) while the watchdog must stay disarmed:
		// bind-mount a script that sleeps over it, then stop leafbox the
		// way a shutdown does.
		held := b.shellStart(`printf '#!/bin/sh\nexec sleep 100000\n' >/tmp/hold && chmod +x /tmp/hold && mount --bind /tmp/hold /usr/sbin/leafbox-run && kill -TERM $(pidof leafbox)`)
		b.waitConsoleAll(time.Minute, held, `msg="watchdog disarmed"`, `msg="leafbox stopped"`)
		// Two timeouts with the device closed: without the magic close
		// the first would have reset the board before the sleep ends.
		done := b.shellStart(fmt.Sprintf("sleep %d", int(2*wdtTimeout/time.Second)))
		if i, _ := b.waitConsoleAny(2*wdtTimeout+2*time.Minute, done, bootLine); i != 0 {
			t.Fatal("the board was reset after leafbox disarmed the watchdog and exited")
		}
		// leafbox back: init respawns the real leafbox-run once the
		// sleeping stand-in ends.
		b.shell(`umount /usr/sbin/leafbox-run && kill $(pidof sleep)`, time.Minute)
		b.waitConsole(`msg="watchdog armed" component=device`, bootTimeout)
		if n := b.consoleCount(bootLine); n != boots {
			t.Fatalf("the board rebooted during the clean stop (%d boots, want %d)", n, boots)
		}
	})

	t.Run("hung daemon resets the board", func(t *testing.T) {
		b.t = t
		b.hangLeafbox()
		start := time.Now()
		b.waitConsole(bootLine, wdtTimeout+bootTimeout)
		t.Logf("reset %v after SIGSTOP (timeout %v)", time.Since(start).Round(100*time.Millisecond), wdtTimeout)
		if b.consoleHas("Kernel panic") {
			t.Error("the kernel panicked: the reset was not the watchdog's")
		}
		b.waitConsoleAll(bootTimeout,
			`msg="device identity" component=device id=`+deviceID,
			`msg="watchdog: the previous boot ended in a watchdog reset"`,
			`msg="leafbox started"`)
		out := b.shell(`wget -qO- http://127.0.0.1:8222/varz | tr -d ' \n' | grep -o '"last_reset_by_watchdog":[a-z]*'`, time.Minute)
		if !regexp.MustCompile(`"last_reset_by_watchdog":true`).MatchString(out) {
			t.Errorf("/varz does not report the watchdog reset: %q", out)
		}
	})
}

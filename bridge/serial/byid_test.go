package serial

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// fakeSysfs lays out sysfs as Linux does for an FTDI adapter on ttyUSB0
// (usb-serial: tty -> port -> interface -> device), a CDC-ACM modem on
// ttyACM0 (tty -> interface -> device) without a serial number, and the
// board's UART ttyAMA0 (not USB). It returns the tty class directory.
func fakeSysfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	usb1 := filepath.Join(root, "devices/pci0000:00/0000:00:02.0/usb1/1-1")
	write(filepath.Join(usb1, "manufacturer"), "FTDI")
	write(filepath.Join(usb1, "product"), " FT232R  USB UART")
	write(filepath.Join(usb1, "serial"), "A10K/7Q1")
	write(filepath.Join(usb1, "idVendor"), "0403")
	write(filepath.Join(usb1, "1-1:1.0/bInterfaceNumber"), "00")
	write(filepath.Join(usb1, "1-1:1.0/ttyUSB0/port_number"), "0")
	os.MkdirAll(filepath.Join(usb1, "1-1:1.0/ttyUSB0/tty/ttyUSB0"), 0o755)
	link("../../devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0", filepath.Join(root, "class/tty/ttyUSB0"))
	link("../../../ttyUSB0", filepath.Join(usb1, "1-1:1.0/ttyUSB0/tty/ttyUSB0/device"))

	usb2 := filepath.Join(root, "devices/pci0000:00/0000:00:02.0/usb1/1-2")
	write(filepath.Join(usb2, "idVendor"), "2341")
	write(filepath.Join(usb2, "idProduct"), "0043")
	write(filepath.Join(usb2, "1-2:1.0/bInterfaceNumber"), "00")
	os.MkdirAll(filepath.Join(usb2, "1-2:1.0/tty/ttyACM0"), 0o755)
	link("../../devices/pci0000:00/0000:00:02.0/usb1/1-2/1-2:1.0/tty/ttyACM0", filepath.Join(root, "class/tty/ttyACM0"))
	link("../../../1-2:1.0", filepath.Join(usb2, "1-2:1.0/tty/ttyACM0/device"))

	uart := filepath.Join(root, "devices/platform/9000000.pl011")
	os.MkdirAll(filepath.Join(uart, "tty/ttyAMA0"), 0o755)
	link("../../devices/platform/9000000.pl011/tty/ttyAMA0", filepath.Join(root, "class/tty/ttyAMA0"))
	link("../../../9000000.pl011", filepath.Join(uart, "tty/ttyAMA0/device"))
	return filepath.Join(root, "class/tty")
}

func TestByIDName(t *testing.T) {
	class := fakeSysfs(t)
	for tty, want := range map[string]string{
		"ttyUSB0": "usb-FTDI_FT232R_USB_UART_A10K_7Q1-if00-port0",
		"ttyACM0": "usb-2341_0043-if00",
		"ttyAMA0": "",
	} {
		if got := byIDName(filepath.Join(class, tty)); got != want {
			t.Errorf("%s: by-id name %q, want %q", tty, got, want)
		}
	}
}

func TestResolvePort(t *testing.T) {
	class := fakeSysfs(t)
	for port, want := range map[string]string{
		byIDDir + "usb-FTDI_FT232R_USB_UART_A10K_7Q1-if00-port0": "/dev/ttyUSB0",
		byIDDir + "usb-2341_0043-if00":                           "/dev/ttyACM0",
		"/dev/ttyS0":                                             "/dev/ttyS0",
		"/dev/serial/by-path/platform-xhci-usb-0:1:1.0-port0":    "/dev/serial/by-path/platform-xhci-usb-0:1:1.0-port0",
	} {
		got, err := resolvePortIn(port, class, "/dev")
		if err != nil || got != want {
			t.Errorf("resolve %s: %q, %v; want %s", port, got, err, want)
		}
	}
	// Unplugged: a clear error the supervisor retries on.
	if _, err := resolvePortIn(byIDDir+"usb-FTDI_FT232R_USB_UART_OTHER-if00-port0", class, "/dev"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an adapter that is not plugged in: %v, want ErrNotExist", err)
	}
}

package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// byIDDir is where udev puts the stable names of serial devices.
const byIDDir = "/dev/serial/by-id/"

// ResolvePort returns the device to open for the configured port. A
// /dev/serial/by-id/ name that does not exist (a system without udev,
// such as BusyBox's mdev or a bare devtmpfs) is looked up in sysfs: the
// tty whose USB device gives that name by udev's rule is opened instead.
// Every other path is returned as it is.
func ResolvePort(port string) (string, error) {
	return resolvePortIn(port, "/sys/class/tty", "/dev")
}

// resolvePortIn is ResolvePort with the sysfs tty class directory and the
// device directory as parameters, for tests.
func resolvePortIn(port, ttyClass, devDir string) (string, error) {
	name, ok := strings.CutPrefix(port, byIDDir)
	if !ok || name == "" || strings.Contains(name, "/") {
		return port, nil
	}
	if _, err := os.Lstat(port); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return port, nil
	}
	ents, err := os.ReadDir(ttyClass)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", port, err)
	}
	for _, e := range ents {
		if byIDName(filepath.Join(ttyClass, e.Name())) == name {
			return filepath.Join(devDir, e.Name()), nil
		}
	}
	return "", fmt.Errorf("resolve %s: no USB serial device has that name: %w", port, fs.ErrNotExist)
}

// byIDName is the name udev's 60-serial.rules gives the tty whose sysfs
// class entry is tty (such as /sys/class/tty/ttyUSB0) in
// /dev/serial/by-id, or "" for a tty that is not on USB:
//
//	usb-<vendor>_<model>[_<serial>]-if<interface>[-port<n>]
//
// vendor, model and serial are the device's manufacturer, product and
// serial strings (the vendor and product ids in hex without them), with
// runs of white space made one underscore and other characters udev does
// not keep replaced by underscores; -port<n> is there for usb-serial
// drivers (ttyUSB*), whose ports have a port_number.
func byIDName(tty string) string {
	dev, err := filepath.EvalSymlinks(filepath.Join(tty, "device"))
	if err != nil {
		return ""
	}
	iface, port := dev, ""
	if n, ok := sysAttr(dev, "port_number"); ok {
		iface, port = filepath.Dir(dev), n
	}
	ifnum, ok := sysAttr(iface, "bInterfaceNumber")
	if !ok {
		return ""
	}
	usb := filepath.Dir(iface)
	vendor, ok := sysAttr(usb, "manufacturer")
	if !ok {
		if vendor, ok = sysAttr(usb, "idVendor"); !ok {
			return ""
		}
	}
	model, ok := sysAttr(usb, "product")
	if !ok {
		if model, ok = sysAttr(usb, "idProduct"); !ok {
			return ""
		}
	}
	id := udevString(vendor) + "_" + udevString(model)
	if serial, ok := sysAttr(usb, "serial"); ok && udevString(serial) != "" {
		id += "_" + udevString(serial)
	}
	name := "usb-" + id + "-if" + ifnum
	if port != "" {
		name += "-port" + port
	}
	return name
}

// sysAttr reads a sysfs attribute, trimmed; ok is false when it is absent
// or empty.
func sysAttr(dir, attr string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, attr))
	if err != nil {
		return "", false
	}
	s := strings.TrimSpace(string(b))
	return s, s != ""
}

// udevString makes s part of a device name as udev does: leading and
// trailing white space dropped, each run of white space inside made one
// underscore, and every byte outside 0-9 A-Z a-z and #+-.:=@_ made an
// underscore (udev keeps valid UTF-8 too; USB strings are ASCII in
// practice).
func udevString(s string) string {
	s = strings.Join(strings.Fields(s), "_")
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case strings.IndexByte("#+-.:=@_", c) >= 0:
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

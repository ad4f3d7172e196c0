package serial

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/leafbox/leafbox/bridge"
)

// ErrNoRS485 means the port's driver has no RS-485 mode.
var ErrNoRS485 = errors.New("serial: driver has no RS-485 mode")

// serialRS485 is the kernel's struct serial_rs485.
type serialRS485 struct {
	flags       uint32
	delayBefore uint32 // ms
	delayAfter  uint32 // ms
	padding     [5]uint32
}

// Flags of struct serial_rs485.
const (
	rs485Enabled      = 1 << 0
	rs485RTSOnSend    = 1 << 1
	rs485RTSAfterSend = 1 << 2
	rs485RxDuringTx   = 1 << 4
	rs485TerminateBus = 1 << 5
)

// SetRS485 puts the port's driver in RS-485 mode. It runs before the port
// is opened by the serial library, which takes exclusive access; the
// driver keeps the setting after this descriptor is closed.
func SetRS485(path string, r *bridge.RS485) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s for rs485: %w", path, err)
	}
	defer unix.Close(fd)
	cfg := serialRS485{
		flags:       rs485Enabled,
		delayBefore: uint32(r.DelayBeforeSend / time.Millisecond),
		delayAfter:  uint32(r.DelayAfterSend / time.Millisecond),
	}
	if r.RTSOnSend {
		cfg.flags |= rs485RTSOnSend
	}
	if r.RTSAfterSend {
		cfg.flags |= rs485RTSAfterSend
	}
	if r.RxDuringTx {
		cfg.flags |= rs485RxDuringTx
	}
	if r.TerminateBus {
		cfg.flags |= rs485TerminateBus
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSRS485, uintptr(unsafe.Pointer(&cfg)))
	switch errno {
	case 0:
		return nil
	case unix.ENOTTY, unix.EINVAL, unix.EOPNOTSUPP:
		return fmt.Errorf("%s: %w (%v)", path, ErrNoRS485, errno)
	default:
		return fmt.Errorf("set rs485 on %s: %w", path, errno)
	}
}

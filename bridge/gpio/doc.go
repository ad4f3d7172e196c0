// Package gpio bridges GPIO lines onto subjects, with periph.io: the
// interfaces of periph.io/x/conn/v3/gpio and, on Linux, the GPIO
// character-device driver of periph.io/x/host/v3/gpioioctl (see CDev).
//
// An input publishes each change of its logical level (active_low inverts
// it) as JSON, {"name":"door","level":1,"edge":"rising","time":"..."}, on
// its subject, filtered by edge (rising, falling, both or none). The kernel
// is always asked for both edges so the bridge knows the level; with
// debounce, a change is published only once the line has been quiet for
// that long, and a bounce back to the previous level publishes nothing. A
// request on the command subject gets the current level.
//
// An output is set by messages on its command subject: 1/0, on/off,
// high/low, true/false, toggle, or JSON ({"level":1}, true, "on"). It
// starts at its initial level and goes to its safe level when the bridge
// stops. A request gets the new level as its reply; a bad command gets a
// 400 error reply.
//
// A line that cannot be opened (missing, busy) fails Run for that bridge
// only; the supervisor retries it with back-off.
package gpio

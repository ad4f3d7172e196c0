// Package bridge connects devices that have no network (serial ports, GPIO
// lines) to subjects of the in-process broker.
//
// A bridge sees only a Conn: a Publisher and a Subscriber, which the broker's
// in-process client satisfies through a small adapter in cmd/leafbox. A
// bridge never imports the broker, leaf or storage packages.
//
// Contract of a Bridge:
//   - Run opens the device, calls up once it is ready, and serves until ctx
//     ends (then it returns nil after leaving the device in its safe state)
//     or the device fails (then it returns the error).
//   - Run may be called again after it returned: the Supervisor restarts a
//     failed bridge with exponential back-off, so an unplugged USB adapter
//     or a busy GPIO line is retried without taking the daemon down.
//   - Messages handed to a subscription handler are valid only during the
//     call and the handler runs on the publisher's goroutine: a bridge copies
//     what it keeps and hands work to its own goroutine.
//
// The Supervisor logs each bridge once per state change (up, down with a
// new error, stopped) and reports every bridge's Status for /bridgez.
package bridge

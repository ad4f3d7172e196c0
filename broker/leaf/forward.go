package leaf

import (
	"errors"

	"github.com/leafbox/leafbox/broker"
)

// ErrLinkDown reports a Sender used after its link went down.
var ErrLinkDown = errors.New("leaf: link down")

// Forwarder is the store-and-forward seam: a component (the storage-backed
// forward queue) that owns some subjects and sends their messages up the
// link itself, in order, instead of the live path.
//
// The contract:
//   - Owns is asked for every local message the hub has interest in, on the
//     publisher's goroutine, and must be quick and allocation-free; for an
//     owned subject the live path sends nothing (the Forwarder has its own
//     local subscription and queue, so live traffic never overtakes the
//     backlog).
//   - LinkUp is called once the link is registered with the hub and the
//     local interest is sent; the Sender stays valid until LinkDown, called
//     exactly once after each LinkUp, when the link is gone. Neither may
//     block for long: they run on the link's goroutine.
type Forwarder interface {
	Owns(subject []byte) bool
	LinkUp(s Sender)
	LinkDown()
}

// Sender sends messages on one link. It is safe for concurrent use.
type Sender interface {
	// Send queues m for the hub behind everything queued before; it
	// returns ErrLinkDown once the link is gone. m is copied.
	Send(m broker.Msg) error
	// Flush sends a PING and calls done(nil) when the hub's PONG proves it
	// received everything sent before, or done(ErrLinkDown) if the link
	// drops first (the ack: flush mode). done runs on the link's reader
	// goroutine and must not block.
	Flush(done func(error))
}

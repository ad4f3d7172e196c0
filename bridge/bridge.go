package bridge

import (
	"context"
	"errors"
	"sync/atomic"
)

// Errors of the bridge package.
var (
	ErrConfig  = errors.New("bridge: invalid configuration")
	ErrSubject = errors.New("bridge: invalid subject template")
	ErrStopped = errors.New("bridge: device session ended without an error")
)

// Msg is a message as a bridge publishes and receives it. A Msg handed to a
// handler is valid only during the call.
type Msg struct {
	Subject []byte
	Reply   []byte
	Header  []byte // NATS/1.0 header block, empty when there is none
	Data    []byte
}

// Publisher publishes into the broker. Publish must not keep m.
type Publisher interface {
	Publish(m Msg) error
}

// Subscription is an active subscription.
type Subscription interface {
	Unsubscribe()
}

// Subscriber subscribes to the broker. The handler runs on the publisher's
// goroutine and must not block.
type Subscriber interface {
	Subscribe(subject, queue string, h func(Msg)) (Subscription, error)
}

// Conn is what a bridge needs from the broker.
type Conn interface {
	Publisher
	Subscriber
}

// Info describes a bridge for logs and /bridgez.
type Info struct {
	Name   string // unique among bridges
	Kind   string // "serial" or "gpio"
	Device string // port path, or chip/line
}

// Bridge is one device bridged onto subjects. See the package documentation
// for the contract of Run.
type Bridge interface {
	Info() Info
	Run(ctx context.Context, up func()) error
	Counters() Counters
}

// Counters are a bridge's traffic and error counts since it was built.
// "In" is from the device into the broker, "out" is from the broker to the
// device.
type Counters struct {
	InMsgs    int64 `json:"in_msgs"`
	InBytes   int64 `json:"in_bytes"`
	OutMsgs   int64 `json:"out_msgs"`
	OutBytes  int64 `json:"out_bytes"`
	Requests  int64 `json:"requests"`
	Timeouts  int64 `json:"timeouts"`
	Oversize  int64 `json:"oversize"`
	Malformed int64 `json:"malformed"`
	// Errors counts failed publishes, writes and rejected commands.
	Errors int64 `json:"errors"`
}

// Stats is the concurrency-safe form of Counters that a bridge updates.
type Stats struct {
	InMsgs, InBytes, OutMsgs, OutBytes atomic.Int64
	Requests, Timeouts                 atomic.Int64
	Oversize, Malformed, Errors        atomic.Int64
}

// Snapshot reads the counters.
func (s *Stats) Snapshot() Counters {
	return Counters{
		InMsgs: s.InMsgs.Load(), InBytes: s.InBytes.Load(),
		OutMsgs: s.OutMsgs.Load(), OutBytes: s.OutBytes.Load(),
		Requests: s.Requests.Load(), Timeouts: s.Timeouts.Load(),
		Oversize: s.Oversize.Load(), Malformed: s.Malformed.Load(),
		Errors: s.Errors.Load(),
	}
}

package broker

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/leafbox/leafbox/broker/proto"
)

// Outbound buffers larger than this are dropped after a flush rather than
// kept for reuse, so one burst does not pin memory on an idle connection.
const maxKeptOutbound = 64 << 10

// closeFlushTimeout bounds the final flush of a closing connection.
const closeFlushTimeout = time.Second

// enqueue appends raw protocol bytes to the outbound buffer.
func (c *client) enqueue(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.out = append(c.out, b...)
	}
	c.mu.Unlock()
}

// enqueueString appends a protocol line such as PONG.
func (c *client) enqueueString(s string) {
	c.mu.Lock()
	if !c.closed {
		c.out = append(c.out, s...)
	}
	c.mu.Unlock()
}

// signal wakes the writer without blocking.
func (c *client) signal() {
	select {
	case c.flushCh <- struct{}{}:
	default:
	}
}

// flushNow wakes the writer; used outside the read loop.
func (c *client) flushNow() { c.signal() }

// markFlush records that dst has new output. A network client's reader
// wakes all such writers once per read (flushPending); other callers wake
// dst at once.
func (c *client) markFlush(dst *client) {
	if c.pcd == nil {
		dst.signal()
		return
	}
	c.pcd[dst] = struct{}{}
}

// Producer stalls: at most this long per read, as nats-server bounds them.
const maxStall = 5 * time.Millisecond

// stall waits, briefly, for a receiver this read nearly filled to drain.
func (c *client) stall() {
	dst := c.stallOn
	if dst == nil {
		return
	}
	c.stallOn = nil
	dst.mu.Lock()
	ch := dst.stallCh
	dst.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(maxStall)
	select {
	case <-ch:
	case <-dst.doneCh:
	case <-t.C:
	}
	t.Stop()
}

// flushPending wakes every writer this read produced output for.
func (c *client) flushPending() {
	for d := range c.pcd {
		d.signal()
	}
	clear(c.pcd)
}

// writeLoop writes the outbound buffer whenever it is signalled, and once
// more when the connection closes.
func (c *client) writeLoop() {
	defer c.srv.connWG.Done()
	for {
		select {
		case <-c.flushCh:
			for {
				more, err := c.flushOut(c.srv.cfg.WriteDeadline)
				if err != nil {
					c.writeFailed(err)
					break
				}
				if !more || c.isClosed() {
					break
				}
			}
		case <-c.doneCh:
			c.flushOut(closeFlushTimeout)
			c.mu.Lock()
			conn := c.conn
			c.mu.Unlock()
			conn.Close()
			return
		}
	}
}

// flushOut writes what is pending. It reports whether more arrived while
// writing.
func (c *client) flushOut(deadline time.Duration) (more bool, err error) {
	c.mu.Lock()
	buf := c.out
	if len(buf) == 0 {
		c.mu.Unlock()
		return false, nil
	}
	c.out = c.spare[:0]
	c.spare = nil
	c.inflight = len(buf)
	conn := c.conn
	// Set under mu so that close, which sets the short closing deadline
	// under mu too, cannot be overtaken by the normal one.
	if c.closed {
		conn.SetWriteDeadline(c.closeBy)
	} else {
		conn.SetWriteDeadline(time.Now().Add(deadline))
	}
	c.mu.Unlock()

	_, err = conn.Write(buf)

	c.mu.Lock()
	c.inflight = 0
	if cap(buf) <= maxKeptOutbound {
		c.spare = buf[:0]
	}
	more = len(c.out) > 0
	if c.stallCh != nil && len(c.out) <= int(c.srv.cfg.MaxPending/2) {
		close(c.stallCh)
		c.stallCh = nil
	}
	c.mu.Unlock()
	return more, err
}

// writeFailed ends a connection whose write failed; a write that timed out
// means the client cannot keep up.
func (c *client) writeFailed(err error) {
	var ne net.Error
	if (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)) && c.slow.CompareAndSwap(false, true) {
		c.srv.stats.slowConsumers.Add(1)
		c.log.Info("slow consumer: write deadline exceeded")
		c.close(closeSlowConsumer, "")
		return
	}
	c.close(closeWriteError, "")
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// pendingBytes is the outbound data not yet written, for /connz.
func (c *client) pendingBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out) + c.inflight
}

// appendDelivery appends one message in wire form. Callers hold c.mu.
func (c *client) appendDelivery(subj, sid, reply, hdr, data []byte) {
	if len(hdr) == 0 || !c.opts.headers {
		// Clients that did not ask for headers get the payload only.
		c.out = proto.AppendMsg(c.out, subj, sid, reply, data)
		return
	}
	c.out = proto.AppendHMsgSplit(c.out, subj, sid, reply, hdr, data)
}

package broker

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/leafbox/leafbox/broker/proto"
)

// Outbound data is kept in fixed-size chunks taken from a server-wide free
// list and written with one writev per flush, so a burst never copies or
// regrows a large buffer and idle connections hold no outbound memory.
const (
	chunkSize = 16 << 10
	// maxFreeChunks bounds the memory the free list keeps (2 MiB).
	maxFreeChunks = 128
)

// closeFlushTimeout bounds the final flush of a closing connection.
const closeFlushTimeout = time.Second

// Producer stalls: at most this long per read, as nats-server bounds them.
const maxStall = 5 * time.Millisecond

// maxStallAt caps the pending output at which a publisher starts to be held
// back. nats-server stalls at 3/4 of max_pending (48 MiB by default); on a
// gateway with a few hundred MiB of RAM, a few fast subscribers would pin
// that much each, so leafbox starts earlier. The slow-consumer cut-off
// stays at max_pending.
const maxStallAt = 4 << 20

// chunkPool is a bounded free list of outbound chunks.
type chunkPool chan []byte

func newChunkPool() chunkPool { return make(chunkPool, maxFreeChunks) }

func (p chunkPool) get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, 0, chunkSize)
	}
}

func (p chunkPool) put(b []byte) {
	if cap(b) != chunkSize {
		return // a one-off buffer for a large message
	}
	select {
	case p <- b[:0]:
	default:
	}
}

// outbound is a connection's pending output. Guarded by client.mu.
type outbound struct {
	chunks   [][]byte // pending, in order; only the last one has room
	size     int      // bytes in chunks
	inflight int      // bytes the writer is writing now
	wbuf     [][]byte // the writer's chunk list, reused between flushes
}

// room returns a buffer with at least n bytes free to append to, at the
// end of the pending output.
func (c *client) room(n int) []byte {
	o := &c.outq
	if k := len(o.chunks); k > 0 {
		last := o.chunks[k-1]
		if cap(last)-len(last) >= n {
			return last
		}
	}
	var b []byte
	if n <= chunkSize {
		b = c.srv.chunks.get()
	} else {
		b = make([]byte, 0, n)
	}
	o.chunks = append(o.chunks, b)
	return b
}

// commit records that the last chunk became b (appended by room's caller).
func (c *client) commit(b []byte) {
	o := &c.outq
	last := len(o.chunks) - 1
	o.size += len(b) - len(o.chunks[last])
	o.chunks[last] = b
}

// appendOut appends raw protocol bytes. Callers hold c.mu.
func (c *client) appendOut(s string) {
	b := c.room(len(s))
	c.commit(append(b, s...))
}

// appendErr appends -ERR 'text', worded by proto.AppendErr. Callers hold
// c.mu.
func (c *client) appendErr(text string) {
	b := c.room(len(text) + len("-ERR ''\r\n"))
	c.commit(proto.AppendErr(b, text))
}

// discardOut drops everything pending (a slow consumer being cut off).
// Callers hold c.mu.
func (c *client) discardOut() {
	o := &c.outq
	for i, b := range o.chunks {
		c.srv.chunks.put(b)
		o.chunks[i] = nil
	}
	o.chunks = o.chunks[:0]
	o.size = 0
}

// pendingLocked is the output not yet written. Callers hold c.mu.
func (c *client) pendingLocked() int { return c.outq.size + c.outq.inflight }

// enqueue appends raw protocol bytes to the outbound buffer.
func (c *client) enqueue(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.appendOut(string(b))
	}
	c.mu.Unlock()
}

// enqueueString appends a protocol line such as PONG.
func (c *client) enqueueString(s string) {
	c.mu.Lock()
	if !c.closed {
		c.appendOut(s)
	}
	c.mu.Unlock()
}

// appendDelivery appends one message in wire form. Callers hold c.mu.
func (c *client) appendDelivery(subj, sid, reply, hdr, data []byte) {
	n := len(subj) + len(sid) + len(reply) + len(hdr) + len(data) + 48
	b := c.room(n)
	if len(hdr) == 0 || !c.opts.headers {
		// Clients that did not ask for headers get the payload only.
		c.commit(proto.AppendMsg(b, subj, sid, reply, data))
		return
	}
	c.commit(proto.AppendHMsgSplit(b, subj, sid, reply, hdr, data))
}

// signal makes sure a writer will flush what is pending. The writer
// goroutine runs only while there is output, so an idle connection costs no
// second goroutine stack.
func (c *client) signal() {
	if c.local {
		return // an in-process client has no socket
	}
	c.mu.Lock()
	if c.writing || c.connClosed {
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	c.srv.connWG.Add(1)
	go c.writeLoop()
}

// flushNow wakes the writer; used outside the read loop.
func (c *client) flushNow() { c.signal() }

// markFlush records that dst has new output. A network client's reader
// wakes all such writers once per read (flushPending); other callers wake
// dst at once.
func (c *client) markFlush(dst *client) {
	if c.local {
		dst.signal()
		return
	}
	// Readers usually feed one or a few receivers: a short scan beats a map.
	for _, d := range c.pcd {
		if d == dst {
			return
		}
	}
	c.pcd = append(c.pcd, dst)
}

// flushPending wakes every writer this read produced output for.
func (c *client) flushPending() {
	if b := &c.batch; b.inMsgs|b.outMsgs != 0 {
		s := c.srv
		if b.inMsgs != 0 {
			c.stats.inMsgs.Add(b.inMsgs)
			c.stats.inBytes.Add(b.inBytes)
			s.stats.inMsgs.Add(b.inMsgs)
			s.stats.inBytes.Add(b.inBytes)
		}
		if b.outMsgs != 0 {
			s.stats.outMsgs.Add(b.outMsgs)
			s.stats.outBytes.Add(b.outBytes)
		}
		*b = readBatch{}
	}
	for i, d := range c.pcd {
		d.signal()
		c.pcd[i] = nil
	}
	c.pcd = c.pcd[:0]
}

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

// writeLoop writes until nothing is pending, then exits. Once the client is
// closed it makes a last bounded flush and closes the socket.
func (c *client) writeLoop() {
	defer c.srv.connWG.Done()
	for {
		_, err := c.flushOut(c.srv.cfg.WriteDeadline)
		if err != nil && !c.isClosed() {
			c.writeFailed(err) // closes c; the loop then finishes up
		}
		c.mu.Lock()
		if c.closed && (err != nil || c.outq.size == 0) {
			c.discardOut()
			c.connClosed = true
			c.writing = false
			conn := c.conn
			c.mu.Unlock()
			conn.Close()
			return
		}
		if c.outq.size == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// flushOut writes what is pending with one writev. It reports whether more
// arrived while writing.
func (c *client) flushOut(deadline time.Duration) (more bool, err error) {
	c.mu.Lock()
	o := &c.outq
	if o.size == 0 {
		c.mu.Unlock()
		return false, nil
	}
	// Hand the pending chunks to the writer; deliverers start a new list.
	o.chunks, o.wbuf = o.wbuf[:0], o.chunks
	o.inflight = o.size
	o.size = 0
	chunks := o.wbuf
	conn := c.conn
	// Set under mu so that close, which sets the short closing deadline
	// under mu too, cannot be overtaken by the normal one.
	if c.closed {
		conn.SetWriteDeadline(c.closeBy)
	} else {
		conn.SetWriteDeadline(time.Now().Add(deadline))
	}
	c.mu.Unlock()

	bufs := net.Buffers(chunks)
	_, err = bufs.WriteTo(conn)

	c.mu.Lock()
	for i, b := range chunks {
		c.srv.chunks.put(b)
		chunks[i] = nil
	}
	o.wbuf = chunks[:0]
	o.inflight = 0
	more = o.size > 0
	if c.stallCh != nil && int64(o.size) <= c.srv.stallAt/2 {
		close(c.stallCh)
		c.stallCh = nil
	}
	c.mu.Unlock()
	return more, err
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// writeFailed ends a connection whose write failed; a write that timed out
// means the client cannot keep up.
func (c *client) writeFailed(err error) {
	var ne net.Error
	if (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)) && c.slow.CompareAndSwap(false, true) {
		c.srv.stats.slowConsumers.Add(1)
		c.logger().Info("slow consumer: write deadline exceeded")
		c.close(closeSlowConsumer, "")
		return
	}
	c.close(closeWriteError, "")
}

// pendingBytes is the outbound data not yet written, for /connz.
func (c *client) pendingBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingLocked()
}

// Package leaf is the leafnode uplink: the soliciting side of nats-server's
// leafnode protocol, so a leafbox gateway joins a cloud nats-server cluster
// exactly as a nats-server leaf would. docs/leafnode.md describes the
// protocol as this package speaks it.
//
// # Links
//
// Each configured Remote gets one link at a time. A link dials (TCP, or a
// websocket for ws:// and wss:// through package wsconn), optionally does
// TLS first, reads the hub's INFO (refusing a port that is not a leafnode
// listener), upgrades to TLS, negotiates S2 compression, and sends CONNECT
// with the credentials (a .creds file or an nkey seed signing the nonce,
// plus user/password or token). Once the hub answers with its connect INFO
// the link is registered: the whole local interest and our loop-detection
// subject go to the hub in one burst, followed by LS+/LS- on every change.
//
// A link ends on any protocol error from the hub (answered with nats-server's
// -ERR text), a -ERR from the hub, a stale keep-alive, a write that does not
// complete, or a slow hub (MaxPending). The remote then redials forever:
// Reconnect plus a random jitter in [0, Reconnect), round-robin over the
// configured URLs and the hub's gossiped leafnode_urls, after a longer
// pause when the hub asked for one (loop, same cluster name: 30 s; minimum
// version: 5 s). Every redial re-sends all local interest.
//
// # Interest and messages
//
// The link holds the hub's interest as subscriptions of a broker relay
// client (broker.LocalOptions.Relay): a local message the hub wants reaches
// the link once, however many hub subscriptions overlap, with the queue
// groups that picked the link, and goes up as one LMSG/HMSG. Relay
// subscriptions are invisible to interest watchers, so one hub's interest
// is never advertised back to it or to another hub. Hub messages are
// published locally with the hub's queue list as a delivery filter (no
// queue group when the hub listed none) and never echo back over the link.
// deny_exports and the hub's export permissions filter what goes up;
// deny_imports and the hub's import permissions filter what comes down and
// which interest is advertised.
//
// Neither direction allocates per message: the parser slices the read
// buffer (copying only what a read split), and the relay appends to the
// link's outbound buffer, written by one goroutine with one write (and one
// S2 flush) per batch.
//
// # Store and forward
//
// A Remote's Forwarder owns subjects whose messages must survive link loss.
// The live path skips them; the Forwarder gets a Sender when the link is
// registered (LinkUp) and loses it when the link ends (LinkDown), sends its
// backlog in order with Sender.Send, and learns that the hub has received
// everything sent so far through Sender.Flush (a PING/PONG round trip).
//
// # Not supported
//
// S2 compression over websockets (nats-server layers it beneath the
// websocket framing; use ws_compression instead), an HTTP proxy, the hub
// role (is_hub), queue weights above 64 (a hub queue group stands in
// locally as up to 64 members), and JetStream domain extension. Each remote
// binds one local account (Remote.Account); the interest of messages that
// reach that account only through an import is not sent to the hub.
package leaf

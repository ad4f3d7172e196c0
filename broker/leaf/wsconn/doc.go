// Package wsconn is the client websocket transport of the leafnode uplink:
// it carries the NATS byte stream to a hub over ws:// or wss://, for sites
// where only HTTPS leaves the building. It implements just what that needs
// of RFC 6455 and RFC 7692, with the standard library and without net/http.
//
// It is our own rather than gorilla/websocket because a build without the
// MQTT client bridge (tag leafbox_omit_mqttbridge) links no net/http, and
// gorilla needs it. The default build links gorilla anyway (through paho);
// reusing its dialer there would save this package's ~24 KiB of symbols
// (linux/arm64) for a second code path per build, which was not worth it.
// The tag leafbox_omit_websocket leaves this package out.
//
// # Handshake
//
// Dial connects (TLS for wss://, ServerName defaulted from the URL host)
// and sends an HTTP/1.1 GET upgrade request. The request path is the URL's
// path, or Options.Path, or "/leafnode" (the path on which nats-server's
// websocket listener accepts leafnode connections; any other path gets a
// client connection). nats-server's own leafnode remotes instead always
// append "/leafnode" to a URL's path ("wss://proxy/nats" dials
// "/nats/leafnode"); a caller that wants that passes the URL without its
// path and Options.Path set to the joined path.
//
// The response must be "101", carry Upgrade: websocket, Connection: Upgrade
// and the Sec-WebSocket-Accept derived from our random key; anything else
// fails Dial with ErrBadStatus (the error quotes the status line),
// ErrBadResponse or ErrBadAccept.
//
// With Options.Compression the client offers permessage-deflate with
// server_no_context_takeover and client_no_context_takeover. The server
// may decline (messages then go uncompressed); if it accepts, it must
// accept server_no_context_takeover, otherwise Dial fails with ErrExtension.
//
// # Stream
//
// The returned net.Conn reads the payload of text, binary and continuation
// frames as one byte stream; message boundaries carry no meaning for NATS.
// Pings are answered with pongs (also between the fragments of a message),
// pongs are ignored, and a close frame is echoed and ends the stream with
// io.EOF. Frames that break the protocol — masked, reserved bits other than
// RSV1 of a compressed message, fragmented or oversized control frames,
// unknown opcodes, continuations out of order — fail the connection with
// close code 1002 and an error wrapping ErrProtocol; a frame, or an inflated
// message, over Options.MaxFrameSize (64 MiB) fails it with 1009 and
// ErrMessageTooBig; undecodable compressed data with 1007.
//
// Compressed messages are inflated as a stream straight into the caller's
// buffer: memory does not grow with message size. Each Write becomes one
// masked binary frame (mask key fresh per frame from a ChaCha8 generator
// seeded by crypto/rand), staged through one reused 32 KiB buffer so the
// caller's bytes are untouched. With compression negotiated, writes of 64
// bytes or more are deflated in messages of at most 32 KiB of input each,
// because nats-server inflates a whole message before parsing it and caps
// it at its max_payload.
//
// # Concurrency and deadlines
//
// One goroutine reads; any goroutines may Write, serialized by a mutex that
// is held for the length of one frame. A deadline that expires between
// frames or inside an uncompressed frame leaves the stream usable; inside a
// compressed message, or during a write, it ends the stream. Close sends a
// close frame within one second, best effort, then closes the connection.
package wsconn

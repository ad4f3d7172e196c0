package wsconn

import "errors"

// Sentinel errors. Dial and the Conn methods wrap them with what was being
// done; test with errors.Is.
var (
	// ErrBadURL reports a URL that is not ws:// or wss:// with a host.
	ErrBadURL = errors.New("wsconn: bad url")
	// ErrBadHeader reports an extra request header that is malformed or
	// would override one the handshake sets itself.
	ErrBadHeader = errors.New("wsconn: bad request header")
	// ErrBadStatus reports a handshake response other than 101; the
	// wrapping error includes the status line.
	ErrBadStatus = errors.New("wsconn: unexpected handshake status")
	// ErrBadResponse reports a malformed handshake response, or one missing
	// the Upgrade: websocket or Connection: Upgrade header.
	ErrBadResponse = errors.New("wsconn: bad handshake response")
	// ErrBadAccept reports a Sec-WebSocket-Accept that does not match the key.
	ErrBadAccept = errors.New("wsconn: bad Sec-WebSocket-Accept")
	// ErrExtension reports an extension negotiation the client cannot honour.
	ErrExtension = errors.New("wsconn: bad extension negotiation")
	// ErrProtocol reports a frame from the server that breaks RFC 6455 or
	// RFC 7692; the connection was failed with close code 1002 or 1007.
	ErrProtocol = errors.New("wsconn: protocol error")
	// ErrMessageTooBig reports a frame, or an inflated message, larger than
	// Options.MaxFrameSize; the connection was failed with close code 1009.
	ErrMessageTooBig = errors.New("wsconn: message too big")
)

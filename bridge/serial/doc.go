// Package serial bridges a serial port (RS-232, RS-485, USB adapters) onto
// subjects, with go.bug.st/serial.
//
// Inbound bytes are cut into frames by a Decoder (line, fixed,
// length_prefixed, cobs or raw; see bridge.Framing) and each frame is
// published to the bridge's subject. A frame longer than max_frame, or one
// that does not decode, is dropped, counted and logged; it never stops the
// bridge.
//
// Messages on the command subject are framed the same way and written to
// the port. A request there (a message with a reply subject) is answered
// with the next inbound frame, or with an error reply after
// request_timeout: the poll/response pattern of meters. A request with an
// empty payload writes nothing and waits for the next frame. Requests are
// served one at a time, in arrival order, because a half-duplex bus has one
// conversation at a time.
//
// The command subject is subscribed only while the port is open, so a
// request to an unplugged port fails at once with "no responders" instead
// of timing out. The port's own failures (the adapter is unplugged) end
// Run with an error; the bridge.Supervisor reopens it with back-off.
package serial

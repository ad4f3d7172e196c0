// Package broker is leafbox's NATS broker core: it accepts NATS client
// connections, routes messages between them by subject, and offers the same
// routing in process to bridges and device services.
//
// Each client connection has a reader goroutine that parses the byte stream
// (package proto) and routes every message as soon as it is parsed. Delivery
// appends the wire form of a message to the receiver's outbound buffer under
// the receiver's lock; the publisher's reader wakes the receivers it touched
// once per read, so a burst of messages leaves in one write. A writer
// goroutine runs only while a connection has output pending and exits when
// its buffer is flushed, so an idle connection costs one goroutine, not two.
// No message is allocated on this path.
//
// Memory is bounded per connection: outbound data beyond MaxPending marks the
// receiver a slow consumer, and it is disconnected with -ERR 'Slow Consumer'.
//
// In-process subscribers (Subscribe) are called synchronously on the
// publisher's goroutine; the Msg they receive is valid only during the call.
//
// # Accounts
//
// Every client is in one account (Config.Accounts; the global account $G
// by default), and each account has its own routing table: a message is
// matched only against the subscriptions of the publisher's account. An
// account's exports and another's imports link the two: after routing in
// its own account, a message on an imported stream subject is routed again
// in the importing account under the mapped subject, and a message on a
// service import's subject goes to the exporting account with a reply
// subject (_R_.xxxxxx.yyyyyy) that carries the responses back. A message
// crosses one link at most. Accounts are fixed at New; ReloadAuth changes
// users, not accounts. In-process clients pick their account with
// NewAccountClient, interest watchers with WatchAccount.
package broker

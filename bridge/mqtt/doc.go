// Package mqtt connects MQTT devices and MQTT brokers to leafbox's subjects.
//
// The Listener speaks MQTT 3.1.1 and 3.1 (MQIsdp) to devices: clean and
// persistent sessions, QoS 0, 1 and 2 in both directions, retained
// messages, last will, keep-alive (a client silent for 1.5 times its
// keep-alive is cut off and its will published), client-id takeover. Topics
// map to subjects with nats-server's MQTT rules (see topic.go), so NATS
// clients and MQTT devices see each other's messages. QoS 1/2 messages
// from devices carry nats-server's Nmqtt-Pub header, so MQTT subscribers
// receive them at that QoS; plain NATS messages arrive as QoS 0.
//
// Guarantees and limits:
//   - A QoS 1/2 delivery is sent again with DUP after AckWait, and all of a
//     resumed session's unfinished deliveries on reconnect. At most
//     MaxAckPending are unacknowledged; as many more wait in memory, and
//     the rest are dropped (counted in Stats.Dropped).
//   - Persistent sessions (subscriptions, unfinished QoS 1/2 messages) and
//     retained messages are written to the Store before they are relied on
//     and reloaded by New, so they survive a daemon restart. Messages
//     waiting beyond MaxAckPending are kept in memory only. The daemon's
//     Store is package boltstore, in its store file.
//   - Incoming QoS 2 is routed once on PUBLISH; a repeated PUBLISH with the
//     same packet id before PUBREL is acknowledged but not routed again.
//   - With Deps.Durable, a QoS 1/2 publish on a forwarded subject is
//     acknowledged only after Durable.Append returns; if it fails, the
//     connection is closed without an ack, so the device sends it again.
//   - Bad input (malformed or oversize packets, a second CONNECT, wildcard
//     or whitespace in a topic name, reserved flags) closes only that
//     connection, with a CONNACK code where the spec has one.
//   - The QoS 0 path (decode, map, publish, map back, encode) does not
//     allocate per message.
//
// Accounts: a session works in the account its user's Login names, as
// with nats-server's MQTT: its publishes (and will) go into that account
// and its subscriptions are made there, through Deps.AccountConn; a Login
// without an account of its own uses the listener's (Config.Account,
// Deps.Conn). Retained messages and sessions are per account: the same
// topic or client id in two accounts are two retained messages or two
// sessions, and a takeover happens only within an account. The listener's
// account keeps them in the Store under the plain topic or client id (so
// stores written before accounts read unchanged); another account's are
// kept under the account name, a NUL and the topic or client id (MQTT
// strings hold no NUL). Deps.Durable applies to the listener's account
// only.
//
// Permissions (Deps.Auth) are checked on mapped subjects, as for NATS
// clients: a PUBLISH the user may not make is acknowledged and dropped; a
// filter the user may not subscribe to gets SUBACK failure (0x80). A
// wildcard filter that overlaps a subscribe deny entry is granted, but
// neither live nor retained messages on denied subjects reach it
// (nats-server's delivery-time filter); "a/#" includes topic "a" only when
// the user may subscribe to subject "a". Listener.Reauthorize, which the
// daemon calls on SIGHUP, checks every connection's credentials again:
// refused ones are closed without their will; the others' publishes follow
// the new permissions at once, and their subscriptions are checked again,
// those now denied being dropped and logged (MQTT 3.1.1 cannot tell the
// client). An offline persistent session is checked against its user's
// permissions when it is resumed: denied subscriptions are removed from
// the store and messages queued for them are not delivered. A will is not
// published when the user may no longer publish on its topic.
//
// The client Bridge uses paho to import topics from an external broker
// onto subjects and export subjects to it. It reconnects forever with
// back-off and subscribes again. Imported messages carry a
// Leafbox-Mqtt-Bridge header so the bridge never exports them back, and
// exported messages that come back through an import filter (MQTT 3.1.1
// has no no-local option) are recognised by topic and payload and dropped.
package mqtt

// Package forward is leafbox's store-and-forward: it takes every local
// message on a forwarded subject into the rule's durable queue (package
// storage) and drains the queues up the leafnode link in sequence order
// (it is the link's leaf.Forwarder).
//
// # Publish side
//
// Each forward rule has an in-process relay client subscribed, as a private
// queue group, to the rule's subjects. A relay client's subscriptions are not
// advertised to the hub, and the queue group keeps messages that come down
// from the hub (which name no queue group of ours) out of the queue, so
// nothing the hub sends is sent back to it. Every message published locally
// on a forwarded subject (TCP clients, MQTT, bridges, device services) is
// appended with its subject, header and publish time. Local subscribers
// receive it at once either way: the broker delivers to them as usual. The
// reply subject is not stored: the gateway answers it at commit (below)
// and it has no use after that (JetStream does not keep it either), so it
// waits in memory beside the pending append.
//
// Appends are asynchronous (group commit): the publisher's reader is not
// held per message, only by the store's back-pressure. A publish with a
// reply subject is answered with a JetStream publish ack
// {"stream":"<rule name>","seq":N} once the commit covering it is fsynced,
// or with a JetStream error reply {"error":{"code":503,"err_code":10077,
// "description":...}} when the append failed (on_full: reject, disk full):
// never an ack for data that is not on disk. So nats.go's jetstream.Publish
// and PublishAsync work against the gateway.
//
// Forward rules own their subjects: every request on a forwarded subject is
// taken as a publish into the queue and answered with an ack. Do not forward
// subjects that a local service answers requests on.
//
// Rules may not overlap: storage.Config.Validate refuses two rules with a
// subject both would match (all rules subscribe in one queue group, so the
// overlap would be split between them at random).
//
// # Uplink side
//
// Owns reports the forwarded subjects so the link's live path skips them.
// On LinkUp a drain loop per rule starts at the first unacknowledged record
// and sends records in order, at most Window in flight; new messages queue
// behind the backlog. On LinkDown the loop stops; the next LinkUp starts
// again from the first unacknowledged record.
//
// ack: jetstream sends each record as a request with the reply subject
// <inbox>.<rule>.<seq> (the inbox is subscribed locally so the link
// advertises it and the hub's stream ack routes back), and the headers
// Nats-Msg-Id: <id>-<epoch>-<rule>-<seq> (the hub stream drops the
// duplicates a resend after a reconnect or a timeout causes) and
// Leafbox-Published: <RFC 3339 publish time>, before the message's own
// headers. <id> is Config.ID (server_name), <epoch> the store file's epoch
// (storage.Store.Epoch): sequences start again at 1 in a new store file,
// and the epoch keeps the ids of the new file from repeating those of an
// old one, which the hub would drop as duplicates. A record leaves the
// queue once the hub's stream acked it and every record before it; an
// error reply or no answer within AckTimeout sends the window again from
// the first unacknowledged record after RetryDelay.
//
// A duplicate publish ack ({"duplicate":true}) counts as delivered only for
// a record that may have been sent before under the current epoch: one
// already queued when the forwarder started (an earlier run may have sent
// it) or one already sent in this run. For a record appended in this run
// and sent for the first time, the stream holds somebody else's message
// under our id (a copied store file with the same server_name, say): the
// record is not delivered. It stays queued, Stats.IDCollisions counts it,
// a warning is logged, the store takes a new epoch and the window is sent
// again after RetryDelay under ids the hub has not seen. At most three new
// epochs are taken per run; past that the record waits, and each further
// collision doubles the pause (up to 64 times RetryDelay).
//
// A store written before epochs existed gets one at its first open: records
// it still holds that an older version sent may reach the stream twice.
//
// ack: flush sends records without a reply and, after each batch, a
// PING; the PONG acknowledges the batch.
//
// Delivery to the hub is at-least-once; Nats-Msg-Id makes it exactly-once
// in the hub stream within its duplicate window. A resend after an error
// can reorder records in the stream only if the stream refused one record
// and accepted a later one.
//
// # MQTT
//
// Forwarder also satisfies the MQTT listener's Durable hook: Append commits
// synchronously and then delivers the message to local subscribers through
// the rule's own client, whose subscription does not see its own
// publishes, so the message is queued once.
package forward

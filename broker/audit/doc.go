// Package audit is the gateway's audit trail of security events: refused
// logins and permission violations of NATS and MQTT clients, and the hub's
// refusals of the leaf uplink.
//
// Each event is logged once, as it happens, and published as a JSON
// message on a local subject, SubjectPrefix + "<kind>.<event>" (for
// example "$LEAFBOX.audit.nats.auth_failed"), so that a forward rule can
// send it to the cloud like any telemetry. The broker reserves that
// subject space: no client may publish on it, and only the configured
// admin user receives from it (see broker.LocalOptions).
//
// Guarantees:
//   - Record never blocks and never does I/O other than the log line: a
//     published event waits in a bounded queue, and when the queue is full
//     the event is dropped and counted (Stats.Dropped), never waited for.
//   - Per source (connection kind and remote IP) a token bucket limits
//     what is logged and published, so one misbehaving client cannot flood
//     the log; what it suppressed is reported later in one summary line and
//     one "suppressed" event per source. The table of sources is bounded;
//     when it is full, unknown sources share one overflow bucket.
package audit

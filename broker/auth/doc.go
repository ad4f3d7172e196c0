// Package auth authenticates client connections and checks their
// publish and subscribe permissions, with nats-server 2.15's semantics so
// that an existing authorization block behaves the same on leafbox.
//
// # Authentication
//
// New validates a Config and compiles it into an immutable Authenticator.
// Exactly one scheme is active: none, a token, a single user/password, or a
// list of users, each with a password or an nkey. Authenticate follows
// nats-server's order:
//
//   - token: the CONNECT token must equal it (bcrypt hashes accepted);
//   - single user: username equal and password matching;
//   - users: when nkey users exist and the CONNECT carries an nkey, that key
//     must be configured and the signature must verify against the INFO
//     nonce (see NewNonce); otherwise the username selects the user and the
//     password must match. A CONNECT without token, user and password (and
//     without nkey) is the NoAuthUser, when configured.
//
// Passwords and tokens are compared in constant time, or with bcrypt when
// the configured value is a bcrypt hash ("$2a$", "$2b$", "$2x$", "$2y$").
// Failures wrap ErrAuthorization with a reason meant for the log.
//
// On a configuration reload the broker calls Authenticate of the new
// Authenticator with each connection's original Credentials and nonce;
// connections that fail are closed, the others take the new Identity, and
// each of their subscriptions is asked CanSubscribe (and NeedsDeliverCheck)
// again under the new permissions.
//
// # Permissions
//
// A Checker holds one user's allow and deny lists. For publishing, a
// subject is allowed when the allow list is empty or one of its entries
// matches, and no deny entry matches. For subscribing, the SUB subject is
// compared with each entry the way nats-server's trie does it: the entry's
// wildcards match any token of the SUB subject, and the SUB subject's own
// "*" and ">" are plain tokens. So
//
//   - allow "foo.>" admits SUB "foo.*", "foo.>", "foo.bar.>";
//   - allow "foo.bar" does not admit SUB "foo.*";
//   - allow "foo.*" admits SUB "foo.*" and also "foo.>" (a nats-server
//     quirk kept for compatibility: its trie lets an entry's "*" match the
//     SUB's final ">" token);
//   - deny "foo.>" refuses SUB "foo.*" and "foo.>"; deny "foo.bar" does not
//     refuse SUB "foo.*" or ">".
//
// A wildcard subscription that was allowed but overlaps a deny entry must
// not receive messages on denied subjects: NeedsDeliverCheck says so once
// per subscription, and DeliverAllowed is then asked per message. This is
// the delivery-time filter of nats-server.
//
// Subscribe entries may name a queue group after a space ("jobs.> workers";
// the name may itself hold wildcards, compared as a subset). Such an entry
// only concerns queue subscriptions: in the allow list, when any queue entry
// matches the subject of a queue subscription, the queue name decides,
// whatever the plain entries say; a plain subscription needs a plain allow
// entry. In the deny list a queue entry refuses only that queue.
//
// All check methods are safe for concurrent use and do not allocate; a nil
// *Checker allows everything. Subjects given to them must be valid (the
// broker validates them first); one with an empty token matches no entry.
//
// Not supported: allow_responses, accounts, JWT and auth callout, TLS
// certificate mapping, allowed connection types.
package auth

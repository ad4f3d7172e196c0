// Package sublist is the broker's routing table: a trie of subscription
// subjects with a bounded cache of match results for literal subjects.
//
// Each entry is a (subject, queue, value) triple. The subject may contain
// wildcards ("*" one token, ">" one or more trailing tokens); queue is "" for
// a plain subscription. An exact triple can be inserted only once.
//
// Match returns, for a literal subject, every plain value and every queue
// group whose filter matches, with queue groups merged by name across
// filters: "foo.*" in queue q and "foo.bar" in queue q give one group q with
// both members, as nats-server does. The broker then picks one member of
// each group.
//
// Guarantees:
//   - Safe for concurrent use. Match and HasInterest take only a read lock;
//     a cache hit performs no allocation and no exclusive locking.
//   - A returned *Result is shared and must be treated as read-only. It is
//     never modified afterwards: inserts and removes evict the cached
//     results they affect, so a later Match sees the change.
//   - Invalidation is exact: only cached subjects matched by the inserted or
//     removed filter are evicted. The cache never holds more than
//     Options.CacheSize subjects; when full it evicts with the CLOCK
//     (second-chance) policy, so recently hit subjects tend to stay.
//   - Remove prunes trie nodes left empty, so memory does not grow with
//     subscribe/unsubscribe churn.
//   - Options.OnChange is called after every successful Insert and Remove,
//     with no sublist lock held, in the same order as the changes were made.
//     It must not call Insert or Remove itself.
package sublist

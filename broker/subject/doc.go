// Package subject validates and matches NATS subjects.
//
// A subject is a sequence of non-empty tokens separated by '.'. In a
// subscription (a filter) the token "*" matches exactly one token and the
// token ">" matches one or more tokens; ">" may only be the last token.
// Wildcards are whole tokens only: "foo*" and "a>b" are ordinary literal
// tokens, as in nats-server. A publish subject must be literal.
//
// Validation follows nats-server's IsValidSubject with one deliberate
// difference: besides the whitespace nats-server rejects, ASCII control
// characters (0x00-0x1f and 0x7f) are rejected too, because they cannot be
// carried safely in the text protocol. Bytes >= 0x80 are accepted as they
// are; UTF-8 is not checked.
//
// Matching functions do not allocate. Functions taking a filter assume it
// is valid unless they say otherwise; Valid is cheap enough to call first.
package subject

package proto

// maxArgs is the most fields any client operation has (HPUB subject reply hdr total).
const maxArgs = 4

// maxSizeDigits bounds a size field. nats-server's parseSize rejects more than 9 digits
// (server/util.go), so sizes are at most 999,999,999.
const maxSizeDigits = 9

// isBlank reports the argument separators. PUB and HPUB split on space and tab only
// (processPub, processHeaderPub); SUB and UNSUB also on CR (splitArg), which matters only for
// a CR inside the line, since a trailing one is already stripped.
func isBlank(b byte, crBlank bool) bool {
	return b == ' ' || b == '\t' || (crBlank && b == '\r')
}

// splitFields stores the first len(out) fields of line in out and returns how many fields the
// line has; a result above len(out) means "too many" and out holds only the first len(out).
func splitFields(line []byte, crBlank bool, out [][]byte) int {
	n, start := 0, -1
	for i, b := range line {
		if isBlank(b, crBlank) {
			if start >= 0 {
				if n == len(out) {
					return n + 1
				}
				out[n] = line[start:i]
				n++
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		if n == len(out) {
			return n + 1
		}
		out[n] = line[start:]
		n++
	}
	return n
}

// SplitArgs splits the arguments of a control line at runs of spaces and tabs, as
// nats-server's PUB and leafnode parsers do. It stores the first len(out) fields in out,
// as slices of line, and returns how many fields line has; a result above len(out) means
// too many, and out then holds only the first len(out). It does not allocate.
func SplitArgs(line []byte, out [][]byte) int {
	return splitFields(line, false, out)
}

// ParseSize parses a decimal size of 1 to 9 digits, returning -1 for anything else
// (empty, sign, non-digit, too long), as nats-server's parseSize does. Nine
// digits always fit an int, also on 32-bit ARM. The leafnode parser uses it too,
// for LMSG/HMSG sizes and LS+ weights.
func ParseSize(d []byte) int {
	if len(d) == 0 || len(d) > maxSizeDigits {
		return -1
	}
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// pubArgs is a parsed PUB or HPUB control line. hdr is -1 for PUB.
type pubArgs struct {
	subject, reply []byte
	hdr, size      int
}

// parsePub parses "<subject> [reply] <size>" (PUB) or "<subject> [reply] <hdr> <total>"
// (HPUB), checking in nats-server's order: field count, sizes, header ≤ total, max payload.
// maxPayload < 0 means no limit.
func parsePub(line []byte, hpub bool, maxPayload int) (pubArgs, error) {
	var f [maxArgs][]byte
	n := SplitArgs(line, f[:])
	var a pubArgs
	op := "PUB"
	if hpub {
		op = "HPUB"
	}
	if !hpub {
		a.hdr = -1
		switch n {
		case 2:
			a.subject, a.size = f[0], ParseSize(f[1])
		case 3:
			a.subject, a.reply, a.size = f[0], f[1], ParseSize(f[2])
		default:
			return a, wireError(ErrBadArgs, op, line)
		}
		if a.size < 0 {
			return a, wireError(ErrBadSize, op, line)
		}
	} else {
		switch n {
		case 3:
			a.subject, a.hdr, a.size = f[0], ParseSize(f[1]), ParseSize(f[2])
		case 4:
			a.subject, a.reply, a.hdr, a.size = f[0], f[1], ParseSize(f[2]), ParseSize(f[3])
		default:
			return a, wireError(ErrBadArgs, op, line)
		}
		if a.hdr < 0 || a.size < 0 || a.hdr > a.size {
			return a, wireError(ErrBadSize, op, line)
		}
	}
	if maxPayload >= 0 && a.size > maxPayload {
		return a, wireError(ErrMaxPayload, op, line)
	}
	return a, nil
}

// parseSub parses "<subject> [queue] <sid>".
func parseSub(line []byte) (subject, queue, sid []byte, err error) {
	var f [maxArgs][]byte
	switch splitFields(line, true, f[:]) {
	case 2:
		return f[0], nil, f[1], nil
	case 3:
		return f[0], f[1], f[2], nil
	}
	return nil, nil, nil, wireError(ErrBadArgs, "SUB", line)
}

// parseUnsub parses "<sid> [max]". A max that is not a valid size is reported as 0: nats-server
// does not reject it, and any max ≤ 0 removes the subscription at once (processUnsub).
func parseUnsub(line []byte) (sid []byte, max int64, err error) {
	var f [maxArgs][]byte
	switch splitFields(line, true, f[:]) {
	case 1:
		return f[0], 0, nil
	case 2:
		if m := ParseSize(f[1]); m > 0 {
			max = int64(m)
		}
		return f[0], max, nil
	}
	return nil, 0, wireError(ErrBadArgs, "UNSUB", line)
}

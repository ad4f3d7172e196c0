package subject

// Intersect returns the filter matching exactly the subjects that both
// filters a and b match, and whether there are any (Overlaps). Two
// filters' intersection is always one filter: token by token a literal
// beats "*", and where one side reaches ">" the other side's rest is
// taken. It returns "", false if either argument is invalid. It allocates:
// use it to explain an overlap, not on a message path.
func Intersect(a, b string) (string, bool) {
	if !Overlaps(a, b) {
		return "", false
	}
	out := make([]byte, 0, max(len(a), len(b)))
	for {
		at, arest, amore := cut(a)
		bt, brest, bmore := cut(b)
		switch {
		case isFWC(at):
			return string(append(out, b...)), true
		case isFWC(bt):
			return string(append(out, a...)), true
		case isPWC(at):
			out = append(out, bt...)
		default:
			// bt is at or "*": Overlaps held.
			out = append(out, at...)
		}
		if !amore || !bmore {
			// Overlaps held, so both ended here.
			return string(out), true
		}
		out = append(out, sep)
		a, b = arest, brest
	}
}

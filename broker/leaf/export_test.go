package leaf

// KnownURLs lists the URLs remote i dials, configured and discovered.
func KnownURLs(u *Uplink, i int) []string {
	r := u.remotes[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.urls {
		out = append(out, x.Host)
	}
	return out
}

// ParseViolation is parseViolation, for the fuzz test.
var ParseViolation = parseViolation

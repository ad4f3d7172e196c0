# bench_table.awk — Markdown table from bench.sh's results (tab-separated:
# round, server, case, value). Per case: each server's median and the median
# (min–max) of the per-round ratio leafbox / nats-server. Cases keep the order in
# which they were first recorded; empty or non-numeric values are skipped.

function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
}

function median(a, n) {
	sort(a, n)
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# fmt formats a value: msgs/s as k/M, everything else with a sensible precision.
function fmt(v, c) {
	if (c ~ /msgs\/s/) {
		if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
		if (v >= 1e3) return sprintf("%.0fk", v / 1e3)
		return sprintf("%.0f", v)
	}
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 10) return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}

# values copies the recorded values of case c and server s into a; returns the count.
function values(c, s, a,    r, n) {
	n = 0
	for (r in val)
		if (index(r, c SUBSEP s SUBSEP) == 1) a[++n] = val[r]
	return n
}

$4 ~ /^[0-9]+([.][0-9]+)?$/ {
	if (!($3 in seen)) {
		seen[$3] = 1
		order[++ncases] = $3
	}
	val[$3, $2, $1] = $4 + 0
	rounds[$1] = 1
}

END {
	print "| case | leafbox median | nats-server median | ratio median (min–max) |"
	print "|---|---:|---:|---|"
	for (i = 1; i <= ncases; i++) {
		c = order[i]
		split("", l); split("", ns); split("", q)
		nl = values(c, "leafbox", l)
		nn = values(c, "nats-server", ns)
		nq = 0
		for (r in rounds)
			if ((c, "leafbox", r) in val && (c, "nats-server", r) in val && val[c, "nats-server", r] > 0)
				q[++nq] = val[c, "leafbox", r] / val[c, "nats-server", r]
		ml = nl ? fmt(median(l, nl), c) : "n/a"
		mn = nn ? fmt(median(ns, nn), c) : "n/a"
		if (nq) {
			mq = median(q, nq)
			ratio = sprintf("%.2fx (%.2f–%.2f)", mq, q[1], q[nq])
		} else {
			ratio = "n/a"
		}
		printf "| %s | %s | %s | %s |\n", c, ml, mn, ratio
	}
}

package monitor

import (
	"strconv"
	"time"
)

// metricsContentType is the Prometheus text exposition format 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric types of the text format.
const (
	typeGauge   = "gauge"
	typeCounter = "counter"
)

// promWriter appends Prometheus text exposition lines to b. Every sample
// carries the server_id label, as prometheus-nats-exporter's do, so
// dashboards built for gnatsd_varz_* work unchanged.
type promWriter struct {
	b        []byte
	serverID string
}

// appendMetrics renders the /metrics body for v, the sublist statistics st
// and the health state. It allocates nothing when b has room.
func appendMetrics(b []byte, v *Varz, st *SublistStats, health healthState) []byte {
	w := promWriter{b: b, serverID: v.ServerID}

	// Static information as value-labelled gauges, like the exporter's.
	w.info("gnatsd_varz_server_id", "Server ID", v.ServerID)
	w.info("gnatsd_varz_server_name", "Server name", v.ServerName)
	w.info("gnatsd_varz_version", "Server version", v.Version)

	w.int("gnatsd_varz_proto", "Protocol version", typeGauge, int64(v.Proto))
	w.int("gnatsd_varz_port", "Client port", typeGauge, int64(v.Port))
	w.int("gnatsd_varz_http_port", "Monitoring port", typeGauge, int64(v.HTTPPort))
	w.int("gnatsd_varz_max_connections", "Maximum number of client connections", typeGauge, int64(v.MaxConn))
	w.int("gnatsd_varz_max_subscriptions", "Maximum number of subscriptions per connection, 0 for unlimited", typeGauge, int64(v.MaxSubs))
	w.int("gnatsd_varz_max_payload", "Maximum message payload in bytes", typeGauge, int64(v.MaxPayload))
	w.int("gnatsd_varz_max_control_line", "Maximum protocol control line in bytes", typeGauge, int64(v.MaxControlLine))
	w.int("gnatsd_varz_max_pending", "Maximum bytes pending per connection", typeGauge, v.MaxPending)
	w.int("gnatsd_varz_ping_interval", "Interval between server PINGs in nanoseconds", typeGauge, int64(v.PingInterval))
	w.int("gnatsd_varz_ping_max", "Unanswered PINGs before a connection is stale", typeGauge, int64(v.MaxPingsOut))
	w.int("gnatsd_varz_write_deadline", "Socket write deadline in nanoseconds", typeGauge, int64(v.WriteDeadline))
	w.float("gnatsd_varz_auth_timeout", "Authentication timeout in seconds", v.AuthTimeout)
	w.float("gnatsd_varz_tls_timeout", "TLS handshake timeout in seconds", v.TLSTimeout)

	w.int("gnatsd_varz_mem", "Resident memory in bytes", typeGauge, v.Mem)
	w.float("gnatsd_varz_cpu", "CPU usage in percent of one core", v.CPU)
	w.int("gnatsd_varz_cores", "Number of CPU cores", typeGauge, int64(v.Cores))
	w.int("gnatsd_varz_gomaxprocs", "GOMAXPROCS", typeGauge, int64(v.MaxProcs))
	var up int64
	if !v.Start.IsZero() {
		up = int64(v.Now.Sub(v.Start) / time.Second)
	}
	w.int("gnatsd_varz_uptime_seconds", "Seconds since the server started", typeGauge, up)

	w.int("gnatsd_varz_connections", "Current number of client connections", typeGauge, int64(v.Connections))
	w.uint("gnatsd_varz_total_connections", "Client connections accepted since start", typeCounter, v.TotalConnections)
	w.int("gnatsd_varz_routes", "Current number of routes", typeGauge, int64(v.Routes))
	w.int("gnatsd_varz_remotes", "Configured route remotes", typeGauge, int64(v.Remotes))
	w.int("gnatsd_varz_leafnodes", "Current number of leafnode connections", typeGauge, int64(v.Leafs))
	w.uint("gnatsd_varz_subscriptions", "Current number of subscriptions", typeGauge, uint64(v.Subscriptions))

	w.int("gnatsd_varz_in_msgs", "Messages received", typeCounter, v.InMsgs)
	w.int("gnatsd_varz_out_msgs", "Messages sent", typeCounter, v.OutMsgs)
	w.int("gnatsd_varz_in_bytes", "Payload bytes received", typeCounter, v.InBytes)
	w.int("gnatsd_varz_out_bytes", "Payload bytes sent", typeCounter, v.OutBytes)
	w.int("gnatsd_varz_in_client_msgs", "Messages received from clients", typeCounter, v.InClientMsgs)
	w.int("gnatsd_varz_out_client_msgs", "Messages sent to clients", typeCounter, v.OutClientMsgs)
	w.int("gnatsd_varz_in_client_bytes", "Payload bytes received from clients", typeCounter, v.InClientBytes)
	w.int("gnatsd_varz_out_client_bytes", "Payload bytes sent to clients", typeCounter, v.OutClientBytes)
	w.int("gnatsd_varz_slow_consumers", "Connections closed as slow consumers", typeCounter, v.SlowConsumers)
	w.int("gnatsd_varz_stale_connections", "Connections closed as stale", typeCounter, v.StaleConnections)

	w.uint("gnatsd_subsz_num_subscriptions", "Subscriptions in the subject trie", typeGauge, uint64(st.NumSubs))
	w.uint("gnatsd_subsz_num_cache", "Entries in the match cache", typeGauge, uint64(st.NumCache))
	w.uint("gnatsd_subsz_num_inserts", "Subscriptions inserted", typeCounter, st.NumInserts)
	w.uint("gnatsd_subsz_num_removes", "Subscriptions removed", typeCounter, st.NumRemoves)
	w.uint("gnatsd_subsz_num_matches", "Subject matches performed", typeCounter, st.NumMatches)
	w.float("gnatsd_subsz_cache_hit_rate", "Match cache hit rate (0..1)", st.CacheHitRate)
	w.uint("gnatsd_subsz_max_fanout", "Largest number of subscriptions one match returned", typeGauge, uint64(st.MaxFanout))
	w.float("gnatsd_subsz_avg_fanout", "Average number of subscriptions per match", st.AvgFanout)

	w.int("gnatsd_healthz_status", "Health: 0 ok, 1 unavailable, 2 degraded", typeGauge, int64(health))
	w.int("leafbox_varz_warnings", "Warnings listed in /varz", typeGauge, int64(len(v.Warnings)))
	w.uint("leafbox_store_damage_events_total", "Damaged store files set aside since start", typeCounter, v.StoreDamage)
	if v.Store != nil {
		w.int("leafbox_store_file_size_bytes", "Size of the store file on disk", typeGauge, v.Store.FileSize)
		w.int("leafbox_store_free_bytes", "Bytes of the store file not holding live pages", typeGauge, v.Store.FreeBytes)
		w.commitLatency(v.Store)
	}
	w.forward(v)
	w.uplinks(v.Uplinks)
	if v.MQTTStats != nil {
		w.mqtt(v.MQTTStats)
	}
	w.bridges(v.Bridges)
	if len(v.Bridges) > 0 {
		w.bridgeErrorAge(v.Bridges, v.Now)
	}
	w.security(v)
	if v.Audit != nil {
		w.audit(v.Audit)
	}
	if v.Device != nil {
		w.device(v.Device, v.Version)
	}
	if v.Runtime != nil {
		w.runtime(v.Runtime)
	}
	return w.b
}

func (w *promWriter) header(name, help, typ string) {
	w.family(name, help, typ)
	w.start(name)
}

// family writes the HELP and TYPE lines that precede a family's samples.
func (w *promWriter) family(name, help, typ string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = appendEscaped(w.b, help, false)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// start opens a sample line up to its server_id label; label adds more
// and one of the end methods closes it.
func (w *promWriter) start(name string) {
	w.b = append(w.b, name...)
	w.b = append(w.b, `{server_id="`...)
	w.b = appendEscaped(w.b, w.serverID, true)
	w.b = append(w.b, '"')
}

func (w *promWriter) int(name, help, typ string, v int64) {
	w.header(name, help, typ)
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '\n')
}

func (w *promWriter) uint(name, help, typ string, v uint64) {
	w.header(name, help, typ)
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, '\n')
}

// float writes a gauge; the text format spells infinities "+Inf"/"-Inf"
// and not-a-number "NaN", which is what 'g' formatting produces.
func (w *promWriter) float(name, help string, v float64) {
	w.header(name, help, typeGauge)
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	w.b = append(w.b, '\n')
}

// info writes a gauge of 1 whose value label carries a string.
func (w *promWriter) info(name, help, value string) {
	w.header(name, help, typeGauge)
	w.b = append(w.b, `,value="`...)
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, "\"} 1\n"...)
}

// appendEscaped escapes s for the text format: backslash and newline
// always, double quote only inside label values.
func appendEscaped(b []byte, s string, label bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && label:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func (w *promWriter) label(name, value string) {
	w.b = append(w.b, ',')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, '"')
}

func (w *promWriter) labelInt(name string, value int64) {
	w.b = append(w.b, ',')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = strconv.AppendInt(w.b, value, 10)
	w.b = append(w.b, '"')
}

func (w *promWriter) endUint(v uint64) {
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, '\n')
}

func (w *promWriter) endInt(v int64) {
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '\n')
}

func (w *promWriter) endFloat(v float64) {
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	w.b = append(w.b, '\n')
}

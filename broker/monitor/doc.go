// Package monitor serves leafbox's HTTP monitoring endpoints with
// nats-server's paths and JSON field names, so the nats CLI's server
// commands, prometheus-nats-exporter and existing dashboards work unchanged.
//
// Endpoints (GET or HEAD; anything else is 405):
//
//	/                 the status page (HTML, refreshes itself from /statusz)
//	                  with links to the endpoints
//	/statusz          the status page's data: identity, uplinks, forward
//	                  queues, bridges, clients, warnings, last hour's history
//	/varz             server configuration, counters, memory and CPU
//	/connz            connections: ?subs=1|true|detail, ?auth=1, ?offset=, ?limit=
//	                  (default 1024), ?sort=cid|start|subs|pending|msgs_to|
//	                  msgs_from|bytes_to|bytes_from|last|idle|uptime|rtt, ?cid=,
//	                  ?state=open|closed|any
//	/subsz            sublist statistics; ?subs=1 lists subscriptions,
//	                  ?test=subject keeps those a publish would reach,
//	                  ?offset=, ?limit= (default 1024). Also /subscriptionsz.
//	/leafz            leafnode connections, when the Source implements LeafzSource
//	/healthz          {"status":"ok"}, 503 {"status":"unavailable","error":"..."},
//	                  or 200 {"status":"degraded","error":"..."} (see Degraded)
//	/metrics          Prometheus text format 0.0.4, written by hand
//
// JSON documents are indented by two spaces as nats-server's are (/healthz
// is compact); bad query parameters get 400 with a plain-text reason.
//
// The broker implements Source and reports what it counts; the monitor
// adds what it measures itself: Now, Uptime, resident memory (VmRSS from
// /proc/self/status), CPU percent (utime+stime deltas from /proc/self/stat
// between scrapes, at least 500ms apart), cores, GOMAXPROCS, GOMEMLIMIT and
// per-endpoint request counts. NewConnz and NewSubsz do the sorting and
// paging for a Source that holds a snapshot.
//
// /metrics uses prometheus-nats-exporter's default names (gnatsd_varz_*,
// gnatsd_subsz_*, gnatsd_healthz_status) with a server_id label, so
// dashboards built on the exporter work without it. Monotonic figures are
// typed counter, the rest gauge; names stay the exporter's, without the
// _total suffix. The renderer appends into a pooled buffer and itself
// allocates nothing. The package imports no Prometheus library.
//
// The HTTP server is the package's own (httpd.go, request.go,
// response.go), so the broker core with monitoring links no net/http. The
// default build links part of net/http anyway (the client side that
// gorilla/websocket uses, through paho, the MQTT client bridge); a build
// with the tag leafbox_omit_mqttbridge links none of it, and needs this
// server. `make size` shows what each costs.
//
// The server speaks HTTP/1.0 and 1.1 with fixed-length responses: 1.1
// connections stay open (idle timeout 30s, at most 1000 requests) unless
// the client sends "Connection: close"; 1.0 connections close after one
// response. It bounds what a client can hold: 64 connections (a new one
// evicts the connection that has waited longest for a request head, so
// /healthz is answered however many idle or slowloris connections are
// held; only when all 64 are inside a request is it closed at once), 8 KiB
// of request line and headers (431), 5s to send them, 10s to take a
// response, 4 KiB of request body, read and discarded (413 beyond);
// chunked bodies, malformed heads and HTTP/1.1 without Host are 400, other
// versions 505. On shutdown the listener and idle connections close at
// once and requests in flight get up to 5s to finish.
//
// With Config.Auth every endpoint but /healthz requires HTTP Basic
// authentication (401 with a WWW-Authenticate challenge otherwise). The
// user and password are compared in constant time; a hashed password is
// checked by Config.Auth.Verify, one check at a time, and credentials that
// passed are remembered by their SHA-256 so a polling page does not cost a
// bcrypt check per request. /healthz stays open so that load balancers,
// supervisors and the watchdog can probe without a secret; it reveals
// only ok, degraded or unavailable and the reason.
//
// The status page's chart reads a history the Server samples from the
// Source every Config.SampleInterval (10s): the queued records over all
// forward rules and the message totals, in a fixed ring of 360 samples
// (an hour, 11.25 KiB) allocated with the Server.
//
// Monitoring is not on the message path: each request takes a snapshot from
// the Source and encodes it. Keep the listener on loopback (the default
// host) unless the network in front of the gateway is trusted, and set a
// user and password when it is not loopback.
package monitor

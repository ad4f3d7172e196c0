package monitor

import (
	"strconv"
	"time"
)

// forwardFamilies are the per-rule store-and-forward families with one
// sample per rule. The accessors are plain functions so that rendering
// allocates nothing.
var forwardFamilies = [...]struct {
	name, help, typ string
	get             func(*ForwardVarz) uint64
}{
	{"leafbox_forward_queued_messages", "Records queued for the uplink, sent or not, not yet acknowledged", typeGauge,
		func(f *ForwardVarz) uint64 { return f.Queued }},
	{"leafbox_forward_queued_bytes", "Encoded size of the queued records", typeGauge,
		func(f *ForwardVarz) uint64 { return f.Bytes }},
	{"leafbox_forward_in_flight_messages", "Records sent and not yet acknowledged", typeGauge,
		func(f *ForwardVarz) uint64 { return uint64(max(f.InFlight, 0)) }},
	{"leafbox_forward_sent_messages_total", "Records sent to the hub, resends included", typeCounter,
		func(f *ForwardVarz) uint64 { return f.Sent }},
	{"leafbox_forward_resent_messages_total", "Records sent again after an error reply or a timeout", typeCounter,
		func(f *ForwardVarz) uint64 { return f.Resent }},
	{"leafbox_forward_acked_messages_total", "Records the hub acknowledged", typeCounter,
		func(f *ForwardVarz) uint64 { return f.Acked }},
	{"leafbox_forward_hub_errors_total", "Error replies and failed flushes from the uplink", typeCounter,
		func(f *ForwardVarz) uint64 { return f.HubErrors }},
	{"leafbox_forward_local_errors_total", "Local publishes answered with an error", typeCounter,
		func(f *ForwardVarz) uint64 { return f.LocalErrors }},
	{"leafbox_forward_id_collisions_total", "Duplicate replies from the hub for message ids this store never sent", typeCounter,
		func(f *ForwardVarz) uint64 { return f.IDCollisions }},
}

// forward writes the store-and-forward families, none without rules.
func (w *promWriter) forward(v *Varz) {
	if len(v.Forward) == 0 {
		return
	}
	for _, fam := range forwardFamilies {
		w.family(fam.name, fam.help, fam.typ)
		for i := range v.Forward {
			f := &v.Forward[i]
			w.start(fam.name)
			w.label("rule", f.Rule)
			w.endUint(fam.get(f))
		}
	}

	const age = "leafbox_forward_oldest_message_age_seconds"
	w.family(age, "Age of the oldest queued record, 0 when the queue is empty", typeGauge)
	for i := range v.Forward {
		f := &v.Forward[i]
		var secs float64
		if !f.Oldest.IsZero() && v.Now.After(f.Oldest) {
			secs = float64(v.Now.Sub(f.Oldest)/time.Millisecond) / 1e3
		}
		w.start(age)
		w.label("rule", f.Rule)
		w.endFloat(secs)
	}

	const dropped = "leafbox_forward_dropped_messages_total"
	w.family(dropped, "Records removed by a queue limit (max_msgs, max_bytes, max_age) or refused at publish (rejected)", typeCounter)
	for i := range v.Forward {
		f := &v.Forward[i]
		for _, r := range [...]struct {
			reason string
			n      uint64
		}{{"max_msgs", f.DroppedMaxMsgs}, {"max_bytes", f.DroppedMaxBytes}, {"max_age", f.DroppedMaxAge}, {"rejected", f.Rejected}} {
			w.start(dropped)
			w.label("rule", f.Rule)
			w.label("reason", r.reason)
			w.endUint(r.n)
		}
	}
}

// uplinkFamilies are the per-remote leafnode families.
var uplinkFamilies = [...]struct {
	name, help, typ string
	get             func(*UplinkMetrics) int64
}{
	{"leafbox_leaf_connected", "1 while the remote has a registered link, else 0", typeGauge,
		func(u *UplinkMetrics) int64 { return b2i(u.Connected) }},
	{"leafbox_leaf_connects_total", "Links registered with the remote since start", typeCounter,
		func(u *UplinkMetrics) int64 { return int64(u.Connects) }},
	{"leafbox_leaf_subscriptions", "Subjects the hub has interest in on the current link", typeGauge,
		func(u *UplinkMetrics) int64 { return u.Subscriptions }},
	{"leafbox_leaf_local_interest", "Local subjects advertised to the hub (LS+) on the current link", typeGauge,
		func(u *UplinkMetrics) int64 { return u.LocalInterest }},
	{"leafbox_leaf_in_messages_total", "Messages received from the remote", typeCounter,
		func(u *UplinkMetrics) int64 { return u.InMsgs }},
	{"leafbox_leaf_out_messages_total", "Messages sent to the remote", typeCounter,
		func(u *UplinkMetrics) int64 { return u.OutMsgs }},
	{"leafbox_leaf_in_bytes_total", "Payload bytes received from the remote", typeCounter,
		func(u *UplinkMetrics) int64 { return u.InBytes }},
	{"leafbox_leaf_out_bytes_total", "Payload bytes sent to the remote", typeCounter,
		func(u *UplinkMetrics) int64 { return u.OutBytes }},
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// uplinks writes the leafnode remote families, none without remotes.
func (w *promWriter) uplinks(us []UplinkMetrics) {
	if len(us) == 0 {
		return
	}
	for _, fam := range uplinkFamilies {
		w.family(fam.name, fam.help, fam.typ)
		for i := range us {
			w.remoteStart(fam.name, &us[i])
			w.endInt(fam.get(&us[i]))
		}
	}
	const rtt = "leafbox_leaf_rtt_seconds"
	w.family(rtt, "Last measured round trip to the remote, 0 while down or unmeasured", typeGauge)
	for i := range us {
		w.remoteStart(rtt, &us[i])
		w.endFloat(us[i].RTT.Seconds())
	}
	w.uplinkReasons("leafbox_leaf_disconnects_total",
		"Registered links to the remote that ended since start, by reason: network, auth, permission, loop, rejected (other hub error), wrong_port",
		us, func(u *UplinkMetrics) []ReasonCount { return u.DisconnectReasons })
	w.uplinkReasons("leafbox_leaf_connect_failures_total",
		"Attempts to reach the remote that ended before the link registered, by the reasons of leafbox_leaf_disconnects_total",
		us, func(u *UplinkMetrics) []ReasonCount { return u.ConnectFailures })
	const comp = "leafbox_leaf_compression_info"
	has := false
	for i := range us {
		has = has || (us[i].Connected && us[i].Compression != "")
	}
	if !has {
		return // no family without a sample
	}
	w.family(comp, "Compression negotiated on the remote's current link, as a mode label of value 1; no sample while down", typeGauge)
	for i := range us {
		if u := &us[i]; u.Connected && u.Compression != "" {
			w.remoteStart(comp, u)
			w.label("mode", u.Compression)
			w.b = append(w.b, "} 1\n"...)
		}
	}
}

// uplinkReasons writes one per-remote family with a reason label.
func (w *promWriter) uplinkReasons(name, help string, us []UplinkMetrics, get func(*UplinkMetrics) []ReasonCount) {
	has := false
	for i := range us {
		has = has || len(get(&us[i])) > 0
	}
	if !has {
		return
	}
	w.family(name, help, typeCounter)
	for i := range us {
		for _, rc := range get(&us[i]) {
			w.remoteStart(name, &us[i])
			w.label("reason", rc.Reason)
			w.endUint(rc.N)
		}
	}
}

func (w *promWriter) remoteStart(name string, u *UplinkMetrics) {
	w.start(name)
	w.labelInt("remote", int64(u.Remote))
	w.label("url", u.URL)
}

// runtime writes the Go runtime families.
func (w *promWriter) runtime(rt *RuntimeMetrics) {
	w.uint("leafbox_go_goroutines", "Live goroutines", typeGauge, rt.Goroutines)
	w.uint("leafbox_go_heap_objects_bytes", "Heap memory occupied by objects, live or not yet swept", typeGauge, rt.HeapBytes)
	w.uint("leafbox_go_heap_goal_bytes", "Heap size the next garbage collection aims for", typeGauge, rt.HeapGoalBytes)
	w.uint("leafbox_go_gc_cycles_total", "Completed garbage collection cycles", typeCounter, rt.GCCycles)

	const pause = "leafbox_go_gc_pause_seconds"
	w.family(pause, "Stop-the-world garbage collection pauses; the sum is estimated from bucket lower bounds", "histogram")
	for i, b := range gcPauseBounds {
		w.start(pause + "_bucket")
		w.b = append(w.b, `,le="`...)
		w.b = strconv.AppendFloat(w.b, b, 'g', -1, 64)
		w.b = append(w.b, '"')
		w.endUint(rt.GCPauses[i])
	}
	w.start(pause + "_bucket")
	w.label("le", "+Inf")
	w.endUint(rt.GCPauseCount)
	w.start(pause + "_sum")
	w.endFloat(rt.GCPauseSum)
	w.start(pause + "_count")
	w.endUint(rt.GCPauseCount)
}

// bridgeFamilies are the per-bridge families.
var bridgeFamilies = [...]struct {
	name, help, typ string
	get             func(*BridgeStatus) int64
}{
	{"leafbox_bridge_up", "1 while the bridge's session is up, else 0", typeGauge,
		func(b *BridgeStatus) int64 { return b2i(b.State == "up") }},
	{"leafbox_bridge_restarts_total", "Bridge sessions that ended with an error", typeCounter,
		func(b *BridgeStatus) int64 { return b.Restarts }},
	{"leafbox_bridge_in_messages_total", "Messages the bridge took from its device", typeCounter,
		func(b *BridgeStatus) int64 { return b.InMsgs }},
	{"leafbox_bridge_in_bytes_total", "Bytes the bridge took from its device", typeCounter,
		func(b *BridgeStatus) int64 { return b.InBytes }},
	{"leafbox_bridge_out_messages_total", "Messages the bridge wrote to its device", typeCounter,
		func(b *BridgeStatus) int64 { return b.OutMsgs }},
	{"leafbox_bridge_out_bytes_total", "Bytes the bridge wrote to its device", typeCounter,
		func(b *BridgeStatus) int64 { return b.OutBytes }},
}

// bridges writes the bridge families, none without bridges.
func (w *promWriter) bridges(bs []BridgeStatus) {
	if len(bs) == 0 {
		return
	}
	for _, fam := range bridgeFamilies {
		w.family(fam.name, fam.help, fam.typ)
		for i := range bs {
			w.bridgeStart(fam.name, &bs[i])
			w.endInt(fam.get(&bs[i]))
		}
	}
	const errs = "leafbox_bridge_errors_total"
	w.family(errs, "Bridge errors: request timeouts, oversize and malformed frames, failed publishes, writes and commands", typeCounter)
	for i := range bs {
		b := &bs[i]
		for _, r := range [...]struct {
			reason string
			n      int64
		}{{"timeout", b.Timeouts}, {"oversize", b.Oversize}, {"malformed", b.Malformed}, {"failed", b.Errors}} {
			w.bridgeStart(errs, b)
			w.label("reason", r.reason)
			w.endInt(r.n)
		}
	}
	w.bridgeDevices(bs)
}

// bridgeDevices writes the per-device families of bridges that poll
// several devices (Modbus units), none without such devices.
func (w *promWriter) bridgeDevices(bs []BridgeStatus) {
	type dev struct {
		b *BridgeStatus
		d *BridgeDevice
	}
	var devs []dev
	for i := range bs {
		for j := range bs[i].Devices {
			devs = append(devs, dev{&bs[i], &bs[i].Devices[j]})
		}
	}
	if len(devs) == 0 {
		return
	}
	start := func(name string, x dev) {
		w.bridgeStart(name, x.b)
		w.label("device", x.d.Name)
	}
	for _, fam := range [...]struct {
		name, help, typ string
		get             func(*BridgeDevice) int64
	}{
		{"leafbox_bridge_device_up", "1 while the device answers its polls, else 0", typeGauge,
			func(d *BridgeDevice) int64 { return b2i(d.State == "up") }},
		{"leafbox_bridge_device_polls_total", "Poll cycles of the device's groups", typeCounter,
			func(d *BridgeDevice) int64 { return d.Polls }},
		{"leafbox_bridge_device_requests_total", "Requests sent to the device", typeCounter,
			func(d *BridgeDevice) int64 { return d.Requests }},
		{"leafbox_bridge_device_writes_total", "Points and ranges written to the device", typeCounter,
			func(d *BridgeDevice) int64 { return d.Writes }},
	} {
		w.family(fam.name, fam.help, fam.typ)
		for _, x := range devs {
			start(fam.name, x)
			w.endInt(fam.get(x.d))
		}
	}
	const errs = "leafbox_bridge_device_errors_total"
	w.family(errs, "Device faults: timeouts, bad CRCs, exception responses, malformed answers, connection errors, failed writes", typeCounter)
	for _, x := range devs {
		d := x.d
		for _, r := range [...]struct {
			reason string
			n      int64
		}{{"timeout", d.Timeouts}, {"crc", d.CRCErrors}, {"exception", d.Exceptions},
			{"malformed", d.Malformed}, {"io", d.IOErrors}, {"write", d.WriteErrors}} {
			start(errs, x)
			w.label("reason", r.reason)
			w.endInt(r.n)
		}
	}
}

// bridgeErrorAge writes the age of each bridge's last error; a bridge
// without one has no sample.
func (w *promWriter) bridgeErrorAge(bs []BridgeStatus, now time.Time) {
	const age = "leafbox_bridge_last_error_age_seconds"
	has := false
	for i := range bs {
		has = has || !bs[i].LastErrorAt.IsZero()
	}
	if !has {
		return
	}
	w.family(age, "Seconds since the bridge's last error; no sample for a bridge without one", typeGauge)
	for i := range bs {
		if b := &bs[i]; !b.LastErrorAt.IsZero() {
			w.bridgeStart(age, b)
			w.endFloat(float64(max(now.Sub(b.LastErrorAt), 0)/time.Millisecond) / 1e3)
		}
	}
}

func (w *promWriter) bridgeStart(name string, b *BridgeStatus) {
	w.start(name)
	w.label("bridge", b.Name)
	w.label("kind", b.Kind)
}

// device writes the device families: identity and watchdog always, OTA
// only with an OTA manager.
func (w *promWriter) device(d *DeviceVarz, version string) {
	const info = "leafbox_device_info"
	w.family(info, "The running firmware: its slot (empty without OTA) and leafbox version, as labels of value 1", typeGauge)
	w.start(info)
	slot := ""
	if d.OTA != nil {
		slot = d.OTA.Booted
	}
	w.label("slot", slot)
	w.label("version", version)
	w.b = append(w.b, "} 1\n"...)
	w.int("leafbox_device_identity_present", "1 when the device has an identity, else 0", typeGauge, b2i(d.ID != ""))
	w.int("leafbox_device_watchdog_armed", "1 when the hardware watchdog is armed, else 0", typeGauge, b2i(d.Watchdog != nil))
	if d.Watchdog != nil {
		w.int("leafbox_device_watchdog_pets_total", "Times the hardware watchdog was petted", typeCounter, d.Watchdog.Pets)
		w.int("leafbox_device_watchdog_last_reset", "1 when the previous boot ended in a watchdog reset, else 0", typeGauge,
			b2i(d.Watchdog.LastResetByWatchdog))
	}
	if o := d.OTA; o != nil {
		const state = "leafbox_device_ota_state"
		w.family(state, "OTA update state, as a state label of value 1", typeGauge)
		w.start(state)
		w.label("state", o.State)
		w.b = append(w.b, "} 1\n"...)
		const slot = "leafbox_device_running_slot"
		w.family(slot, "The A/B slot the device booted, as a slot label of value 1", typeGauge)
		w.start(slot)
		w.label("slot", o.Booted)
		w.b = append(w.b, "} 1\n"...)
		w.int("leafbox_device_ota_trial", "1 while the booted slot is an unconfirmed trial boot, else 0", typeGauge, b2i(o.Trial))
		var done, total int64
		if p := o.Progress; p != nil {
			done, total = p.Done, p.Total
		}
		w.int("leafbox_device_ota_download_bytes", "Bytes of the bundle being installed read so far, 0 when no install runs", typeGauge, done)
		w.int("leafbox_device_ota_download_size_bytes", "Size of the bundle being installed, 0 when no install runs", typeGauge, total)
	}
}

// mqtt writes the MQTT listener families.
func (w *promWriter) mqtt(m *MQTTMetrics) {
	w.int("leafbox_mqtt_connections", "Open MQTT connections", typeGauge, m.Connections)
	const sessions = "leafbox_mqtt_sessions"
	w.family(sessions, "MQTT sessions, connected or not, by kind (clean or persistent)", typeGauge)
	w.start(sessions)
	w.label("kind", "clean")
	w.endInt(m.CleanSessions)
	w.start(sessions)
	w.label("kind", "persistent")
	w.endInt(m.PersistentSessions)
	w.int("leafbox_mqtt_subscriptions", "MQTT subscriptions over all sessions", typeGauge, m.Subscriptions)
	w.int("leafbox_mqtt_retained_messages", "Retained MQTT messages", typeGauge, m.Retained)
	const inflight = "leafbox_mqtt_in_flight_messages"
	w.family(inflight, "QoS 1 and 2 deliveries awaiting their acknowledgement, by QoS", typeGauge)
	w.start(inflight)
	w.label("qos", "1")
	w.endInt(m.InFlightQoS1)
	w.start(inflight)
	w.label("qos", "2")
	w.endInt(m.InFlightQoS2)
	w.int("leafbox_mqtt_in_messages_total", "PUBLISH packets received", typeCounter, m.InMsgs)
	w.int("leafbox_mqtt_out_messages_total", "PUBLISH packets sent", typeCounter, m.OutMsgs)
	w.int("leafbox_mqtt_redeliveries_total", "QoS 1 and 2 deliveries (PUBLISH, or PUBREL once PUBREC came) sent again", typeCounter, m.Redelivered)
	const dropped = "leafbox_mqtt_dropped_messages_total"
	w.family(dropped, "Deliveries dropped: QoS 0 to a connection over max_pending (max_pending), QoS 1/2 to a session whose queue behind max_ack_pending is full (max_ack_pending)", typeCounter)
	w.start(dropped)
	w.label("reason", "max_pending")
	w.endInt(m.DroppedMaxPending)
	w.start(dropped)
	w.label("reason", "max_ack_pending")
	w.endInt(m.DroppedMaxAckPending)
	const refused = "leafbox_mqtt_connect_refused_total"
	w.family(refused, "CONNECTs refused with a CONNACK, by return code (1 protocol version, 2 identifier, 3 server unavailable, 4 bad user name or password, 5 not authorized)", typeCounter)
	for code := 1; code < len(m.ConnectRefused); code++ {
		w.start(refused)
		w.labelInt("code", int64(code))
		w.endUint(m.ConnectRefused[code])
	}
}

// audit writes the audit trail's families.
func (w *promWriter) audit(a *AuditMetrics) {
	const events = "leafbox_audit_events_total"
	w.family(events, "Security events recorded, by whether the source's rate limit logged and published them (logged) or held them back (suppressed)", typeCounter)
	w.start(events)
	w.label("outcome", "logged")
	w.endUint(a.Logged)
	w.start(events)
	w.label("outcome", "suppressed")
	w.endUint(a.Suppressed)
	w.uint("leafbox_audit_published_total", "Audit events published on $LEAFBOX.audit.>", typeCounter, a.Published)
	w.uint("leafbox_audit_dropped_total", "Audit events not published: the queue was full or the publish failed", typeCounter, a.Dropped)
	const viol = "leafbox_permission_violations_by_user_total"
	if len(a.Violations) == 0 {
		return
	}
	w.family(viol, "Permission violations by connection kind (nats, mqtt, leaf: the hub's), direction and user (configured users by name, others as other, none as anonymous)", typeCounter)
	for i := range a.Violations {
		v := &a.Violations[i]
		w.start(viol)
		w.label("kind", v.Kind)
		w.label("direction", v.Direction)
		w.label("user", v.User)
		w.endUint(v.N)
	}
}

// commitLatency writes the store commit histogram, none without buckets.
func (w *promWriter) commitLatency(st *StoreMetrics) {
	if len(st.CommitBounds) == 0 || len(st.CommitCounts) != len(st.CommitBounds) {
		return
	}
	const name = "leafbox_store_commit_seconds"
	w.family(name, "Time a store group commit took to write and fsync", "histogram")
	var cum uint64
	for i, b := range st.CommitBounds {
		cum += st.CommitCounts[i]
		w.start(name + "_bucket")
		w.b = append(w.b, `,le="`...)
		w.b = strconv.AppendFloat(w.b, b, 'g', -1, 64)
		w.b = append(w.b, '"')
		w.endUint(cum)
	}
	w.start(name + "_bucket")
	w.label("le", "+Inf")
	w.endUint(st.CommitCount)
	w.start(name + "_sum")
	w.endFloat(st.CommitSum)
	w.start(name + "_count")
	w.endUint(st.CommitCount)
}

// security writes the authentication, permission and refusal families:
// kind "nats" from v.Security, kind "mqtt" from the MQTT listener's
// counters. None when neither listener reports them.
func (w *promWriter) security(v *Varz) {
	var sources [3]struct {
		kind string
		m    *SecurityMetrics
	}
	n := 0
	// The monitor's refused requests come last: the families below that
	// do not apply to it stop at nNet.
	if v.Security != nil {
		sources[n].kind, sources[n].m = "nats", v.Security
		n++
	}
	if v.MQTTStats != nil {
		sources[n].kind, sources[n].m = "mqtt", &v.MQTTStats.Security
		n++
	}
	nNet := n
	if v.HTTPSecurity != nil {
		sources[n].kind, sources[n].m = "http", v.HTTPSecurity
		n++
	}
	if n == 0 && v.Audit == nil {
		return
	}
	const auth = "leafbox_auth_failures_total"
	w.family(auth, "Connections refused at authentication: bad_credentials, no_credentials, or timeout (no CONNECT within the auth timeout; NATS only)", typeCounter)
	for _, src := range sources[:n] {
		for _, r := range [...]struct {
			reason string
			n      uint64
		}{{"bad_credentials", src.m.AuthBadCredentials}, {"no_credentials", src.m.AuthNoCredentials}, {"timeout", src.m.AuthTimeout}} {
			if r.reason == "timeout" && src.kind != "nats" {
				continue
			}
			w.start(auth)
			w.label("kind", src.kind)
			w.label("reason", r.reason)
			w.endUint(r.n)
		}
	}
	if v.Audit != nil {
		// The hub's refusals of the uplink's credentials.
		w.start(auth)
		w.label("kind", "leaf")
		w.label("reason", "rejected")
		w.endUint(v.Audit.LeafAuthFailures)
	}
	const perm = "leafbox_permission_violations_total"
	w.family(perm, "Publishes and subscriptions denied by the user's permissions", typeCounter)
	for _, src := range sources[:nNet] {
		w.start(perm)
		w.label("kind", src.kind)
		w.label("direction", "publish")
		w.endUint(src.m.PublishViolations)
		w.start(perm)
		w.label("kind", src.kind)
		w.label("direction", "subscribe")
		w.endUint(src.m.SubscribeViolations)
	}
	const refused = "leafbox_connections_refused_total"
	w.family(refused, "Connections refused before authentication, by reason", typeCounter)
	for _, src := range sources[:nNet] {
		w.start(refused)
		w.label("kind", src.kind)
		w.label("reason", "max_connections")
		w.endUint(src.m.RefusedMaxConnections)
	}
}

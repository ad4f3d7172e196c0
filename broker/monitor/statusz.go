package monitor

import "time"

// Statusz is the /statusz document, a leafbox extra: what the status page
// at / shows, gathered from the same Source as /varz, /leafz and /bridgez,
// plus the last hour of queue depth and message rates.
type Statusz struct {
	ServerID   string    `json:"server_id"`
	ServerName string    `json:"server_name"`
	Version    string    `json:"version"`
	Now        time.Time `json:"now"`
	Uptime     string    `json:"uptime"`
	// DeviceID is the device identity's public key; empty without it.
	DeviceID string `json:"device_id,omitempty"`
	// OTA is the state of A/B updates; nil without OTA.
	OTA *OTAVarz `json:"ota,omitempty"`
	// Health is /healthz's status ("ok", "degraded", "unavailable") and
	// HealthError its reason.
	Health      string `json:"health"`
	HealthError string `json:"health_error,omitempty"`
	// Mem is the resident set size in bytes, CPU the percent of one core.
	Mem int64   `json:"mem"`
	CPU float64 `json:"cpu"`
	// NATSClients counts NATS client connections; MQTTClients MQTT
	// connections, -1 without the MQTT listener.
	NATSClients int   `json:"nats_clients"`
	MQTTClients int64 `json:"mqtt_clients"`
	InMsgs      int64 `json:"in_msgs"`
	OutMsgs     int64 `json:"out_msgs"`
	// Uplinks, Forward and Bridges are empty when not configured.
	Uplinks  []StatusUplink  `json:"uplinks"`
	Forward  []StatusForward `json:"forward"`
	Bridges  []StatusBridge  `json:"bridges"`
	Warnings []string        `json:"warnings"`
	History  StatusHistory   `json:"history"`
}

// StatusUplink is one configured leafnode remote.
type StatusUplink struct {
	Remote    int    `json:"remote"`
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	// RTTSeconds is the last round trip of the current link; 0 while down
	// or not yet measured.
	RTTSeconds  float64 `json:"rtt_seconds"`
	Connects    uint64  `json:"connects"`
	Disconnects uint64  `json:"disconnects"`
}

// StatusForward is one store-and-forward rule's queue.
type StatusForward struct {
	Rule     string `json:"rule"`
	Queued   uint64 `json:"queued"`
	Bytes    uint64 `json:"bytes"`
	InFlight int64  `json:"in_flight"`
	// OldestAgeSeconds is the age of the oldest queued record; 0 when
	// the queue is empty.
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Acked            uint64  `json:"acked"`
	Dropped          uint64  `json:"dropped"`
}

// StatusBridge is one serial or GPIO bridge.
type StatusBridge struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	Restarts  int64     `json:"restarts"`
}

// StatusHistory is the chart's data in columns, oldest first: histSample
// times (Unix seconds), the records queued over all rules, and the
// broker's messages in and out per second since the histSample before (0 for
// the first). The last point is taken at the request, unless the last
// histSample is less than a second old.
type StatusHistory struct {
	IntervalSeconds float64   `json:"interval_seconds"`
	Time            []int64   `json:"t"`
	Queued          []uint64  `json:"queued"`
	InRate          []float64 `json:"in_rate"`
	OutRate         []float64 `json:"out_rate"`
}

func (s *Server) handleStatusz(w *response) {
	st := s.statusz()
	s.writeJSON(w, statusOK, &st, false)
}

// statusz builds the /statusz document from one /varz snapshot.
func (s *Server) statusz() Statusz {
	v := s.varz()
	st := Statusz{
		ServerID:    v.ServerID,
		ServerName:  v.ServerName,
		Version:     v.Version,
		Now:         v.Now,
		Uptime:      v.Uptime,
		Mem:         v.Mem,
		CPU:         v.CPU,
		NATSClients: v.Connections,
		MQTTClients: -1,
		InMsgs:      v.InMsgs,
		OutMsgs:     v.OutMsgs,
		Uplinks:     make([]StatusUplink, 0, len(v.Uplinks)),
		Forward:     make([]StatusForward, 0, len(v.Forward)),
		Bridges:     []StatusBridge{},
		Warnings:    v.Warnings,
	}
	if st.Warnings == nil {
		st.Warnings = []string{}
	}
	if v.Device != nil {
		st.DeviceID = v.Device.ID
		st.OTA = v.Device.OTA
	}
	st.Health = StatusOK
	if err := s.src.Healthz(); err != nil {
		st.HealthError = err.Error()
		st.Health = StatusUnavailable
		if classify(err) == healthDegraded {
			st.Health = StatusDegraded
		}
	}
	if v.MQTTStats != nil {
		st.MQTTClients = v.MQTTStats.Connections
	}
	for _, u := range v.Uplinks {
		st.Uplinks = append(st.Uplinks, StatusUplink{
			Remote: u.Remote, URL: u.URL, Connected: u.Connected,
			RTTSeconds: u.RTT.Seconds(), Connects: u.Connects, Disconnects: u.Disconnects,
		})
	}
	for i := range v.Forward {
		f := &v.Forward[i]
		var age float64
		if !f.Oldest.IsZero() && v.Now.After(f.Oldest) {
			age = float64(v.Now.Sub(f.Oldest)/time.Millisecond) / 1e3
		}
		st.Forward = append(st.Forward, StatusForward{
			Rule: f.Rule, Queued: f.Queued, Bytes: f.Bytes, InFlight: f.InFlight,
			OldestAgeSeconds: age, Acked: f.Acked, Dropped: f.Dropped,
		})
	}
	if bs, ok := s.src.(BridgezSource); ok {
		for _, b := range bs.Bridgez().Bridges {
			st.Bridges = append(st.Bridges, StatusBridge{
				Name: b.Name, Kind: b.Kind, State: b.State, Since: b.Since,
				LastError: b.LastError, Restarts: b.Restarts,
			})
		}
	}
	st.History = s.statusHistory(sampleOf(&v, v.Now))
	return st
}

// statusHistory lays the ring out in columns and ends it with now, the
// histSample taken for this request.
func (s *Server) statusHistory(now histSample) StatusHistory {
	var buf [historySize + 1]histSample
	samples := s.hist.appendTo(buf[:0])
	// A point less than a second after the last histSample would make a
	// noisy rate.
	if len(samples) == 0 || now.at-samples[len(samples)-1].at >= 1000 {
		samples = append(samples, now)
	}
	n := len(samples)
	h := StatusHistory{
		IntervalSeconds: max(s.cfg.sampleInterval(), 0).Seconds(),
		Time:            make([]int64, n),
		Queued:          make([]uint64, n),
		InRate:          make([]float64, n),
		OutRate:         make([]float64, n),
	}
	for i, p := range samples {
		h.Time[i] = p.at / 1e3
		h.Queued[i] = p.queued
		if i == 0 {
			continue
		}
		prev := samples[i-1]
		if dt := float64(p.at-prev.at) / 1e3; dt > 0 {
			h.InRate[i] = rate(p.inMsgs-prev.inMsgs, dt)
			h.OutRate[i] = rate(p.outMsgs-prev.outMsgs, dt)
		}
	}
	return h
}

// rate is d per second over dt seconds, rounded to a tenth; a negative
// difference (a counter reset) is 0.
func rate(d int64, dt float64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int64(float64(d)/dt*10+0.5)) / 10
}

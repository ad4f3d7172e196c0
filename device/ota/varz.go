package ota

import "github.com/leafbox/leafbox/broker/monitor"

// Varz is the manager's /varz section.
func (m *Manager) Varz() *monitor.OTAVarz {
	st := m.Status()
	v := &monitor.OTAVarz{
		State:   st.State,
		Booted:  string(st.Boot.Booted),
		Default: string(st.Boot.Default),
		Trial:   st.Boot.Trial,
		Error:   st.Error,
	}
	if p := st.Progress; p != nil {
		v.Progress = &monitor.OTAProgressVarz{Version: p.Version, Done: p.Done, Total: p.Total}
	}
	if n := len(st.History); n > 0 {
		last := st.History[n-1]
		v.LastEvent = &monitor.OTAEventVarz{Event: last.Event, Version: last.Version, Time: last.Time.UTC()}
	}
	return v
}

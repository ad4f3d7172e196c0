package watchdog

import "github.com/leafbox/leafbox/broker/monitor"

// Varz is the watchdog's /varz section.
func (w *Watchdog) Varz() *monitor.WatchdogVarz {
	st := w.Status()
	return &monitor.WatchdogVarz{Pets: st.Pets, LastResetByWatchdog: st.LastResetByWatchdog, Unhealthy: st.Unhealthy}
}

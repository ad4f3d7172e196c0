package ota

// SetNoRoomToStage makes m see a full data partition, for tests of installs
// that cannot stage the bundle.
func SetNoRoomToStage(m *Manager) {
	m.freeSpace = func(string) (int64, bool) { return 0, true }
}

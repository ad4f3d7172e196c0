//go:build race

package forward_test

// raceEnabled: the race detector allocates, so allocation counts are not
// checked under it.
const raceEnabled = true

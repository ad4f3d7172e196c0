package forward_test

import "runtime"

// runtimeAllocs reads the process's allocation count.
type runtimeAllocs struct{ n uint64 }

func (a *runtimeAllocs) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	a.n = ms.Mallocs
}

package broker_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
)

// BenchmarkNatsGoPubSub measures end-to-end throughput through the broker
// with nats.go on both ends: one publisher, one subscriber, 128-byte
// payloads, at most window messages in flight. Allocations are mostly
// nats.go's own (a *nats.Msg per delivery); the broker's hot path has its
// own allocation benchmarks.
func BenchmarkNatsGoPubSub(b *testing.B) {
	_, url := startBroker(b, broker.Config{})
	sub := natsConnect(b, url)
	pub := natsConnect(b, url)
	ch := make(chan *nats.Msg, 1<<16)
	s, err := sub.ChanSubscribe("bench", ch)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Unsubscribe()
	flush(b, sub)
	data := make([]byte, 128)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	const window = 4096
	sent, received := 0, 0
	for b.Loop() {
		if err := pub.Publish("bench", data); err != nil {
			b.Fatal(err)
		}
		sent++
		for sent-received >= window {
			<-ch
			received++
		}
	}
	for received < sent {
		<-ch
		received++
	}
}

package sublist_test

import (
	"fmt"

	"github.com/leafbox/leafbox/broker/sublist"
)

func Example() {
	s := sublist.New[string](sublist.Options{
		OnChange: func(c sublist.Change) { fmt.Printf("interest %q %q = %d\n", c.Subject, c.Queue, c.Count) },
	})
	_ = s.Insert("telemetry.>", "", "logger")
	_ = s.Insert("telemetry.*.power", "workers", "w1")
	_ = s.Insert("telemetry.meter1.power", "workers", "w2")

	r := s.Match([]byte("telemetry.meter1.power"))
	fmt.Println("plain:", r.Plain)
	for _, g := range r.Queues {
		fmt.Println("group:", g.Name, len(g.Members), "members")
	}
	_ = s.Remove("telemetry.>", "", "logger")
	// Output:
	// interest "telemetry.>" "" = 1
	// interest "telemetry.*.power" "workers" = 1
	// interest "telemetry.meter1.power" "workers" = 1
	// plain: [logger]
	// group: workers 2 members
	// interest "telemetry.>" "" = 0
}

// Command mqttload is the MQTT load generator of scripts/bench-mqtt.sh. It
// uses the paho client, as devices do, against any MQTT broker.
//
//	mqttload -url tcp://127.0.0.1:1883 -mode pub -qos 1 -n 100000 -size 64
//	mqttload -url ... -mode pubsub -n 100000      # QoS 0 through one subscriber
//	mqttload -url ... -mode idle -conns 500       # hold idle connections until stdin closes
//
// It prints one line: mode, messages, seconds, messages per second.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mqttload:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "tcp://127.0.0.1:1883", "broker URL")
	mode := flag.String("mode", "pub", "pub, pubsub or idle")
	qos := flag.Int("qos", 0, "publish QoS")
	n := flag.Int("n", 100000, "messages")
	size := flag.Int("size", 64, "payload bytes")
	conns := flag.Int("conns", 500, "idle connections")
	flag.Parse()
	dial := func(id string) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker(*url).SetClientID(id).SetAutoReconnect(false).
			SetKeepAlive(60 * time.Second).SetMaxResumePubInFlight(1024).SetWriteTimeout(10 * time.Second)
		c := paho.NewClient(o)
		if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
			return nil, fmt.Errorf("connect %s: %v", id, t.Error())
		}
		return c, nil
	}
	payload := make([]byte, *size)
	switch *mode {
	case "idle":
		var cs []paho.Client
		for i := range *conns {
			c, err := dial("idle-" + strconv.Itoa(i))
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		fmt.Println("ready", len(cs))
		io.Copy(io.Discard, os.Stdin)
		for _, c := range cs {
			c.Disconnect(0)
		}
		return nil
	case "pub", "pubsub":
		var got atomic.Int64
		done := make(chan struct{})
		if *mode == "pubsub" {
			sub, err := dial("load-sub")
			if err != nil {
				return err
			}
			defer sub.Disconnect(0)
			t := sub.Subscribe("load/t", 0, func(paho.Client, paho.Message) {
				if got.Add(1) == int64(*n) {
					close(done)
				}
			})
			if t.Wait(); t.Error() != nil {
				return t.Error()
			}
		}
		pub, err := dial("load-pub")
		if err != nil {
			return err
		}
		defer pub.Disconnect(0)
		start := time.Now()
		var last paho.Token
		window := make(chan paho.Token, 1024)
		for range *n {
			last = pub.Publish("load/t", byte(*qos), false, payload)
			if *qos > 0 {
				select {
				case window <- last:
				default:
					(<-window).Wait()
					window <- last
				}
			}
		}
		close(window)
		for t := range window {
			t.Wait()
		}
		last.Wait()
		if *mode == "pubsub" {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
			}
		}
		secs := time.Since(start).Seconds()
		count := *n
		if *mode == "pubsub" {
			count = int(got.Load())
		}
		fmt.Printf("%s qos%d %d %.3f %.0f\n", *mode, *qos, count, secs, float64(count)/secs)
		return nil
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

//go:build !leafbox_omit_mqttbridge

package mqtt

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/bridge"
)

// bridgeHeaderKey marks messages a client bridge imported, so its export
// side never sends them back where they came from.
const bridgeHeaderKey = "Leafbox-Mqtt-Bridge"

// Bridge is a client bridge: a paho connection to an external MQTT broker
// that imports topics onto subjects and exports subjects onto topics.
type Bridge struct {
	cfg    BridgeConfig
	conn   bridge.Conn
	log    *slog.Logger
	header []byte // NATS header block marking imported messages

	mu   sync.Mutex
	sent map[uint64]int // exported (topic, payload) fingerprints not yet echoed
}

// NewBridge validates cfg and prepares the bridge; Run connects.
func NewBridge(cfg BridgeConfig, conn bridge.Conn, log *slog.Logger) (*Bridge, error) {
	cfg = cfg.WithDefaults(0)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt bridge %s: %w", cfg.Name, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bridge{
		cfg: cfg, conn: conn,
		log:    log.With("component", "mqtt-bridge", "bridge", cfg.Name),
		header: []byte("NATS/1.0\r\n" + bridgeHeaderKey + ": " + cfg.Name + "\r\n\r\n"),
		sent:   make(map[uint64]int),
	}, nil
}

// Run connects, reconnecting forever with back-off and subscribing again
// each time, until ctx ends.
func (b *Bridge) Run(ctx context.Context) error {
	o := paho.NewClientOptions().AddBroker(b.cfg.URL).SetClientID(b.cfg.ClientID).
		SetCleanSession(b.cfg.CleanSession).SetAutoReconnect(true).
		SetConnectRetry(true).SetConnectRetryInterval(b.cfg.RetryMin).
		SetMaxReconnectInterval(b.cfg.RetryMax).SetOrderMatters(false).
		SetConnectTimeout(10 * time.Second)
	if b.cfg.Username != "" {
		o.SetUsername(b.cfg.Username).SetPassword(b.cfg.Password)
	}
	if b.cfg.TLS != nil {
		o.SetTLSConfig(b.cfg.TLS)
	}
	o.SetOnConnectHandler(func(c paho.Client) {
		b.log.Info("connected", "url", b.cfg.URL)
		for _, r := range b.cfg.Import {
			r := r
			tok := c.Subscribe(r.Topic, r.QoS, func(_ paho.Client, m paho.Message) { b.imported(r, m) })
			go func() {
				if tok.Wait(); tok.Error() != nil {
					b.log.Warn("subscribe", "topic", r.Topic, "err", tok.Error())
				}
			}()
		}
	})
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		b.log.Warn("connection lost, reconnecting", "err", err)
	})
	c := paho.NewClient(o)
	c.Connect() // retries in the background (SetConnectRetry)
	var subs []bridge.Subscription
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
		c.Disconnect(250)
	}()
	for _, r := range b.cfg.Export {
		r := r
		s, err := b.conn.Subscribe(r.Subject, "", func(m bridge.Msg) { b.export(c, r, m) })
		if err != nil {
			return fmt.Errorf("mqtt bridge %s: subscribe %s: %w", b.cfg.Name, r.Subject, err)
		}
		subs = append(subs, s)
	}
	<-ctx.Done()
	return nil
}

func fingerprint(topic string, payload []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum64()
}

// imported publishes a message from the external broker onto its subject,
// unless it is the echo of one the bridge exported.
func (b *Bridge) imported(r ImportRule, m paho.Message) {
	fp := fingerprint(m.Topic(), m.Payload())
	b.mu.Lock()
	if n := b.sent[fp]; n > 0 {
		if n == 1 {
			delete(b.sent, fp)
		} else {
			b.sent[fp] = n - 1
		}
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	subj, err := importSubject(r.Subject, m.Topic())
	if err != nil {
		b.log.Warn("import: topic has no subject", "topic", m.Topic(), "err", err)
		return
	}
	if err := b.conn.Publish(bridge.Msg{Subject: subj, Header: b.header, Data: m.Payload()}); err != nil {
		b.log.Warn("import publish", "subject", string(subj), "err", err)
	}
}

// importSubject is where a message on topic goes for a rule's subject.
func importSubject(rule, topic string) ([]byte, error) {
	switch {
	case rule == "":
		return appendSubject(nil, []byte(topic), false)
	case strings.HasSuffix(rule, ".>"):
		return appendSubject([]byte(rule[:len(rule)-1]), []byte(topic), false)
	default:
		return []byte(rule), nil
	}
}

// exportTopic is the topic a message on subject goes to for a rule's topic.
func exportTopic(rule string, subject []byte) string {
	switch {
	case rule == "":
		return string(appendTopic(nil, subject))
	case strings.HasSuffix(rule, "/#"):
		return string(appendTopic([]byte(rule[:len(rule)-1]), subject))
	default:
		return rule
	}
}

// maxEchoes bounds the fingerprints kept for no-local emulation.
const maxEchoes = 4096

// export publishes a broker message on the external broker, unless this
// bridge imported it. It runs on the publisher's goroutine: paho queues
// the publish without waiting.
func (b *Bridge) export(c paho.Client, r ExportRule, m bridge.Msg) {
	if len(m.Header) > 0 && strings.Contains(string(m.Header), bridgeHeaderKey+": "+b.cfg.Name+"\r\n") {
		return
	}
	topic := exportTopic(r.Topic, m.Subject)
	payload := append([]byte(nil), m.Data...)
	fp := fingerprint(topic, payload)
	for _, ir := range b.cfg.Import {
		// Only what comes back through an import needs to be recognised.
		if matchTopic(ir.Topic, topic) {
			b.mu.Lock()
			if len(b.sent) < maxEchoes {
				b.sent[fp]++
			}
			b.mu.Unlock()
			break
		}
	}
	if !c.IsConnectionOpen() && r.QoS == 0 {
		return
	}
	c.Publish(topic, r.QoS, r.Retain, payload)
}

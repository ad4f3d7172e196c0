package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/broker"
)

// newBridgesComponent builds the supervisor of the serial, GPIO and Modbus bridges,
// or returns nil when none is configured.
func newBridgesComponent(cfg bridge.Config, srv *broker.Server, log *slog.Logger) (*bridgesComponent, error) {
	return buildBridges(cfg, srv, log, defaultGPIOOpener())
}

// bridgesComponent runs the bridges; each has its own in-process client.
type bridgesComponent struct {
	sup     *bridge.Supervisor
	clients []*broker.LocalClient
}

// buildBridges makes one bridge per configured device. opener finds GPIO
// lines (the character devices in the daemon, fakes in tests).
func buildBridges(cfg bridge.Config, srv *broker.Server, log *slog.Logger, opener gpioOpener) (*bridgesComponent, error) {
	if cfg.Empty() {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bridges: %w", err)
	}
	c := &bridgesComponent{}
	var bs []bridge.Bridge
	newConn := func(name, account string) (localConn, error) {
		lc, err := srv.NewAccountClient(account, broker.LocalOptions{Name: name})
		if err != nil {
			return localConn{}, fmt.Errorf("bridge %s: %w", name, err)
		}
		c.clients = append(c.clients, lc)
		return localConn{lc}, nil
	}
	for _, sc := range cfg.Serial {
		name := sc.WithDefaults().Name
		conn, err := newConn("serial:"+name, sc.Account)
		if err != nil {
			c.Close()
			return nil, err
		}
		b, err := newSerialBridge(sc, conn, log)
		if err != nil {
			c.Close()
			return nil, err
		}
		bs = append(bs, b)
	}
	for _, gc := range cfg.GPIO {
		name := gc.WithDefaults().Name
		conn, err := newConn("gpio:"+name, gc.Account)
		if err != nil {
			c.Close()
			return nil, err
		}
		b, err := newGPIOBridge(gc, opener, conn, log)
		if err != nil {
			c.Close()
			return nil, err
		}
		bs = append(bs, b)
	}
	for _, mc := range cfg.Modbus {
		name := mc.WithDefaults().Name
		conn, err := newConn("modbus:"+name, mc.Account)
		if err != nil {
			c.Close()
			return nil, err
		}
		b, err := newModbusBridge(mc, conn, log)
		if err != nil {
			c.Close()
			return nil, err
		}
		bs = append(bs, b)
	}
	c.sup = bridge.NewSupervisor(cfg.Backoff, log, bs...)
	return c, nil
}

// Run runs the bridges until ctx ends, then detaches their clients.
func (c *bridgesComponent) Run(ctx context.Context) error {
	defer c.Close()
	return c.sup.Run(ctx)
}

// Status reports every bridge.
func (c *bridgesComponent) Status() []bridge.Status { return c.sup.Status() }

// Close detaches the bridges' clients; the devices are opened by Run.
func (c *bridgesComponent) Close() error {
	for _, lc := range c.clients {
		lc.Close()
	}
	return nil
}

// localConn adapts a broker LocalClient to bridge.Conn. bridge.Msg and
// broker.Msg have the same fields, so messages convert without copying.
type localConn struct {
	lc *broker.LocalClient
}

func (c localConn) Publish(m bridge.Msg) error { return c.lc.Publish(broker.Msg(m)) }

func (c localConn) Subscribe(subject, queue string, h func(bridge.Msg)) (bridge.Subscription, error) {
	sub, err := c.lc.Subscribe(subject, queue, func(m broker.Msg) { h(bridge.Msg(m)) })
	if err != nil {
		return nil, err
	}
	return sub, nil
}

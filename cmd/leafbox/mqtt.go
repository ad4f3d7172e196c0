package main

// mqtt parses the mqtt block into options.MQTT.
// Placeholder until the issue that builds it: the block is refused.
func (p *parser) mqtt(n node) {
	p.failf(n, "the mqtt block is not supported yet")
}

// newMQTTComponent builds the component for the mqtt block, or returns nil
// when the block is absent.
func newMQTTComponent(opts *options, d *deps) (component, error) {
	return nil, nil
}

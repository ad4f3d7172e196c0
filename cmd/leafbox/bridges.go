package main

// bridges parses the bridges block into options.Bridges.
// Placeholder until the issue that builds it: the block is refused.
func (p *parser) bridges(n node) {
	p.failf(n, "the bridges block is not supported yet")
}

// newBridgesComponent builds the component for the bridges block, or returns nil
// when the block is absent.
func newBridgesComponent(opts *options, d *deps) (component, error) {
	return nil, nil
}

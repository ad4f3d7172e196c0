package main

// device parses the device block into options.Device.
// Placeholder until the issue that builds it: the block is refused.
func (p *parser) device(n node) {
	p.failf(n, "the device block is not supported yet")
}

// newDeviceComponent builds the component for the device block, or returns nil
// when the block is absent.
func newDeviceComponent(opts *options, d *deps) (component, error) {
	return nil, nil
}

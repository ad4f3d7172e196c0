package main

// store parses the store block into options.Store.
// Placeholder until the issue that builds it: the block is refused.
func (p *parser) store(n node) {
	p.failf(n, "the store block is not supported yet")
}

// newStoreComponent builds the component for the store block, or returns nil
// when the block is absent.
func newStoreComponent(opts *options, d *deps) (component, error) {
	return nil, nil
}

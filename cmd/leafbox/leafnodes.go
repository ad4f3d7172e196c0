package main

// leafnodes parses the leafnodes block into options.Leaf.
// Placeholder until the issue that builds it: the block is refused.
func (p *parser) leafnodes(n node) {
	p.failf(n, "the leafnodes block is not supported yet")
}

// newLeafComponent builds the component for the leafnodes block, or returns nil
// when the block is absent.
func newLeafComponent(opts *options, d *deps) (component, error) {
	return nil, nil
}

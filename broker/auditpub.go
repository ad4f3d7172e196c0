package broker

// AuditPublisher publishes an audit trail's events (audit.Publisher) into
// the broker through an in-process audit client, the only kind of client
// allowed to publish on $LEAFBOX.audit.>.
type AuditPublisher struct{ lc *LocalClient }

// NewAuditPublisher attaches an audit client; Close detaches it.
func (s *Server) NewAuditPublisher() *AuditPublisher {
	return &AuditPublisher{lc: s.NewLocalClient(LocalOptions{Name: "audit", Audit: true})}
}

// Publish publishes one event.
func (p *AuditPublisher) Publish(subject string, data []byte) error {
	return p.lc.Publish(Msg{Subject: []byte(subject), Data: data})
}

// Close detaches the client.
func (p *AuditPublisher) Close() { p.lc.Close() }

package broker

import "github.com/leafbox/leafbox/broker/auth"

// Authenticator is the authorization in force, the latest after a reload.
// Other listeners (MQTT) check their users with it.
func (s *Server) Authenticator() *auth.Authenticator { return s.auth.Load() }

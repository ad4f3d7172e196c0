package proto

import (
	"encoding/json"
	"fmt"
)

// ConnectOptions is a client's CONNECT, with nats-server's JSON field names
// (server/client.go, type ClientOpts).
type ConnectOptions struct {
	Echo         bool   `json:"echo"`
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	TLSRequired  bool   `json:"tls_required"`
	Nkey         string `json:"nkey,omitempty"`
	JWT          string `json:"jwt,omitempty"`
	Sig          string `json:"sig,omitempty"`
	Token        string `json:"auth_token,omitempty"`
	Username     string `json:"user,omitempty"`
	Password     string `json:"pass,omitempty"`
	Name         string `json:"name"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	Protocol     int    `json:"protocol"`
	Account      string `json:"account,omitempty"`
	AccountNew   bool   `json:"new_account,omitempty"`
	Headers      bool   `json:"headers,omitempty"`
	NoResponders bool   `json:"no_responders,omitempty"`
}

// DefaultConnectOptions are the values of fields a CONNECT leaves out. nats-server starts
// every client from ClientOpts{Verbose: true, Pedantic: true, Echo: true} (defaultOpts in
// server/client.go) and unmarshals CONNECT over it.
func DefaultConnectOptions() ConnectOptions {
	return ConnectOptions{Verbose: true, Pedantic: true, Echo: true}
}

// ParseConnect decodes the JSON argument of CONNECT over DefaultConnectOptions. Keys match
// case-insensitively and unknown keys are ignored, as in nats-server (encoding/json). Errors
// wrap ErrBadConnect, which nats-server answers by closing without -ERR.
func ParseConnect(arg []byte) (ConnectOptions, error) {
	opts := DefaultConnectOptions()
	if err := json.Unmarshal(arg, &opts); err != nil {
		return DefaultConnectOptions(), fmt.Errorf("%w: %w", ErrBadConnect, err)
	}
	return opts, nil
}

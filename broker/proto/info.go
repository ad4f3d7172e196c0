package proto

import (
	"encoding/json"
	"fmt"
)

// Info is the INFO a server sends to a client, with nats-server's JSON field names and
// omitempty choices (server/server.go, type Info) for the fields a client or a soliciting
// leafnode can meet, in the same order so the encoding matches byte for byte.
type Info struct {
	ID                string   `json:"server_id"`
	Name              string   `json:"server_name"`
	Version           string   `json:"version"`
	Proto             int      `json:"proto"`
	GitCommit         string   `json:"git_commit,omitempty"`
	GoVersion         string   `json:"go"`
	Host              string   `json:"host"`
	Port              int      `json:"port"`
	Headers           bool     `json:"headers"`
	AuthRequired      bool     `json:"auth_required,omitempty"`
	TLSRequired       bool     `json:"tls_required,omitempty"`
	TLSVerify         bool     `json:"tls_verify,omitempty"`
	TLSAvailable      bool     `json:"tls_available,omitempty"`
	MaxPayload        int32    `json:"max_payload"`
	JetStream         bool     `json:"jetstream,omitempty"`
	IP                string   `json:"ip,omitempty"`
	CID               uint64   `json:"client_id,omitempty"`
	ClientIP          string   `json:"client_ip,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	Cluster           string   `json:"cluster,omitempty"`
	Domain            string   `json:"domain,omitempty"`
	ClientConnectURLs []string `json:"connect_urls,omitempty"`
	WSConnectURLs     []string `json:"ws_connect_urls,omitempty"`
	LameDuckMode      bool     `json:"ldm,omitempty"`
	Compression       string   `json:"compression,omitempty"`
	ConnectInfo       bool     `json:"connect_info,omitempty"`
	RemoteAccount     string   `json:"remote_account,omitempty"`
	IsSystemAccount   bool     `json:"acc_is_sys,omitempty"`
	JSApiLevel        int      `json:"api_lvl,omitempty"`
	LeafNodeURLs      []string `json:"leafnode_urls,omitempty"`
	XKey              string   `json:"xkey,omitempty"`
}

// AppendInfo appends "INFO <json>\r\n" to dst. It allocates (encoding/json); INFO is sent
// once per connection and on cluster changes, not per message.
func AppendInfo(dst []byte, info *Info) ([]byte, error) {
	b, err := json.Marshal(info)
	if err != nil {
		return dst, fmt.Errorf("encode INFO: %w", err)
	}
	dst = append(dst, "INFO "...)
	dst = append(dst, b...)
	return append(dst, "\r\n"...), nil
}

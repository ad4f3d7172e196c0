//go:build !leafbox_omit_otaobjstore

package main

import (
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/objstore"
)

// objStoreSource is the OTA source of an object in a JetStream object
// store, reached through the broker (and so through the leafnode uplink);
// the tag leafbox_omit_otaobjstore leaves it out (ota_objstore_omit.go).
func objStoreSource(lc *broker.LocalClient, bucket, name string) (ota.Source, error) {
	return objstore.Source{Conn: objConn{lc}, Bucket: bucket, Name: name}, nil
}

// objConn adapts the broker's in-process client to objstore.Conn.
type objConn struct{ lc *broker.LocalClient }

func (l objConn) Publish(subject, reply string, data []byte) error {
	return l.lc.Publish(broker.Msg{Subject: []byte(subject), Reply: []byte(reply), Data: data})
}

func (l objConn) Subscribe(subject string, h func(hdr, data []byte)) (func(), error) {
	sub, err := l.lc.Subscribe(subject, "", func(m broker.Msg) { h(m.Header, m.Data) })
	if err != nil {
		return nil, err
	}
	return sub.Unsubscribe, nil
}

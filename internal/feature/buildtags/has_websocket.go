//go:build !leafbox_omit_websocket

package buildtags

// omitWebsocket is set by the build tag leafbox_omit_websocket.
const omitWebsocket = false

module havatar/bench/server-sizing/whep

go 1.26

// The versions MediaMTX v1.20.1 builds with (its go.mod): scripts/build-mediamtx.sh has them in
// Go's module cache already, so this builds without fetching anything more.
require (
	github.com/pion/datachannel v1.6.2
	github.com/pion/dtls/v3 v3.1.5
	github.com/pion/ice/v4 v4.4.1
	github.com/pion/interceptor v0.1.47
	github.com/pion/logging v0.2.4
	github.com/pion/mdns/v2 v2.1.0
	github.com/pion/randutil v0.1.0
	github.com/pion/rtcp v1.2.17
	github.com/pion/rtp v1.10.5
	github.com/pion/sctp v1.11.1
	github.com/pion/sdp/v3 v3.0.19
	github.com/pion/srtp/v3 v3.0.13
	github.com/pion/stun/v3 v3.1.6
	github.com/pion/transport/v4 v4.1.0
	github.com/pion/turn/v5 v5.0.12
	github.com/pion/webrtc/v4 v4.2.18
	github.com/google/uuid v1.6.0
	github.com/wlynxg/anet v0.0.5
	golang.org/x/crypto v0.55.0
	golang.org/x/net v0.58.0
	golang.org/x/sys v0.47.0
	golang.org/x/time v0.15.0
)

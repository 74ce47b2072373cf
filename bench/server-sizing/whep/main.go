// WHEP readers for the server sizing bench (bench/server-sizing.ts): many WebRTC viewers in one
// process, each a pion PeerConnection that POSTs its offer to MediaMTX's WHEP endpoint, receives
// the H.264 and Opus tracks and counts what arrives. No browser: the bench measures the server, and
// M Chromium tabs would take the machine from it. The media is read and dropped, not decoded.
//
//	whep-readers -duration 20s -url URL -token T [-url URL -token T ...]
//
// Prints one JSON line at the end: {"readers":[{"url","ok","error","videoBytes","audioBytes",
// "videoPackets","connectedMs"}...]}. Every reader starts at once; one that fails says why.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type result struct {
	URL          string `json:"url"`
	OK           bool   `json:"ok"`
	Error        string `json:"error,omitempty"`
	VideoBytes   int64  `json:"videoBytes"`
	AudioBytes   int64  `json:"audioBytes"`
	VideoPackets int64  `json:"videoPackets"`
	ConnectedMs  int64  `json:"connectedMs"`
}

func read(url, token string, d time.Duration) (r result) {
	r.URL = url
	start := time.Now()
	api := webrtc.NewAPI(webrtc.WithMediaEngine(mediaEngine()))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		r.Error = err.Error()
		return
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			r.Error = err.Error()
			return
		}
	}
	var video, audio, packets atomic.Int64
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				video.Add(int64(n))
				packets.Add(1)
			} else {
				audio.Add(int64(n))
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		r.Error = err.Error()
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		r.Error = err.Error()
		return
	}
	<-gathered
	req, _ := http.NewRequest("POST", url, bytes.NewBufferString(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.Error = err.Error()
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		r.Error = fmt.Sprintf("WHEP answered %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		r.Error = err.Error()
		return
	}
	select {
	case <-connected:
		r.ConnectedMs = time.Since(start).Milliseconds()
	case <-time.After(10 * time.Second):
		r.Error = "not connected within 10 s"
		return
	}
	time.Sleep(d)
	r.VideoBytes, r.AudioBytes, r.VideoPackets = video.Load(), audio.Load(), packets.Load()
	r.OK = r.VideoPackets > 0
	if !r.OK {
		r.Error = "connected, but no video arrived"
	}
	return
}

// H.264 (constrained baseline, packetization-mode 1, as the robot publishes) and Opus only.
func mediaEngine() *webrtc.MediaEngine {
	m := &webrtc.MediaEngine{}
	_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102}, webrtc.RTPCodecTypeVideo)
	_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio)
	return m
}

func main() {
	var urls, tokens list
	duration := flag.Duration("duration", 20*time.Second, "how long each reader reads once connected")
	flag.Var(&urls, "url", "a WHEP URL (repeat)")
	flag.Var(&tokens, "token", "the Bearer token for the -url at the same position (repeat)")
	flag.Parse()
	if len(urls) == 0 || len(urls) != len(tokens) {
		fmt.Fprintln(os.Stderr, "whep-readers: give as many -token as -url (at least one)")
		os.Exit(2)
	}
	out := make([]result, len(urls))
	var wg sync.WaitGroup
	for i := range urls {
		wg.Add(1)
		go func(i int) { defer wg.Done(); out[i] = read(urls[i], tokens[i], *duration) }(i)
	}
	wg.Wait()
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"readers": out})
}

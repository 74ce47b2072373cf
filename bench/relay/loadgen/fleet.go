package main

// The simulated fleet: robots that ack every command they get, and operators (one driver and
// some viewers per robot) that send at a fixed rate. Against our relay (plain WebSocket, the
// protocol's JSON) or the Socket.IO baseline (Engine.IO v4 / Socket.IO v5 framing over a
// WebSocket, as socket.io-client speaks with transports: ['websocket']).
// Latency: the client writes its clock (`t`, ms since this process started) just before the
// write; the robot reads the clock once when a read returns, before parsing what came.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	Kind string `json:"kind"` // "ours" | "baseline"
	URL  string `json:"url"`
}
type robotSpec struct {
	ID       string `json:"id"`
	Password string `json:"password,omitempty"`
}
type clientSpec struct {
	ID     string `json:"id"`
	Robot  string `json:"robot"`
	Token  string `json:"token,omitempty"`
	Driver bool   `json:"driver"`
}

// A sender's frame is pre + seq + mid + t + post (seq left out when pre is empty); its keepalive
// (sent between runs, see keepalive) is beat + t + beatEnd.
type sender struct {
	c              *wsConn
	driver         bool
	pre, mid, post []byte
	beat, beatEnd  []byte
}

func (s *sender) appendPayload(dst []byte, seq uint64, t float64) []byte {
	if len(s.pre) > 0 {
		dst = append(dst, s.pre...)
		dst = strconv.AppendUint(dst, seq, 10)
	}
	dst = append(dst, s.mid...)
	dst = strconv.AppendFloat(dst, t, 'f', 3, 64)
	return append(dst, s.post...)
}

var (
	mu      sync.Mutex // guards conns, senders, errorSample
	conns   []*wsConn
	senders []*sender

	runStartBits atomic.Uint64 // float64 bits: messages stamped before it are not counted
	running      atomic.Bool   // a run is sending: keepalive holds off
	delivered    atomic.Int64
	acks         atomic.Int64
	errCount     atomic.Int64
	connFailures atomic.Int64 // sockets that could not connect (errCount also counts error frames)
	closes       atomic.Int64
	errorSample  []string
	latency      hist
)

func noteError(s string) {
	errCount.Add(1)
	mu.Lock()
	if len(errorSample) < 5 {
		errorSample = append(errorSample, s[:min(len(s), 200)])
	}
	mu.Unlock()
}

// received counts one command arriving at a robot; t is the client's stamp as sent (digits).
func received(t []byte, now float64) {
	ts, err := strconv.ParseFloat(string(t), 64)
	if err != nil || ts < f64(runStartBits.Load()) {
		return
	}
	delivered.Add(1)
	latency.add(now - ts)
}

func track(c *wsConn) *wsConn {
	c.onClose = func() { closes.Add(1) }
	mu.Lock()
	conns = append(conns, c)
	mu.Unlock()
	return c
}

func addSender(s *sender) {
	mu.Lock()
	senders = append(senders, s)
	mu.Unlock()
}

// after returns what follows key in b, up to (not including) the first byte in stops.
func after(b []byte, key, stops string) []byte {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return nil
	}
	v := b[i+len(key):]
	if j := bytes.IndexAny(v, stops); j >= 0 {
		return v[:j]
	}
	return v
}

func str(b []byte, key string) []byte { return after(b, key, `"`) }
func num(b []byte, key string) []byte { return after(b, key, ",}]") }

// ---- our relay ----------------------------------------------------------------------------------

var (
	oursForward = []byte(`{"v":1,"type":"forward",`)
	oursDrive   = []byte(`"msg":{"v":1,"type":"drive"`)
	oursBeat    = []byte(`"msg":{"v":1,"type":"heartbeat"`)
	oursAck     = []byte(`{"v":1,"type":"ack"`)
	oursBeatAck = []byte(`{"v":1,"type":"heartbeat_ack"`)
)

func connectOurs(base string, robots []robotSpec, clients []clientSpec) {
	ws := "ws" + strings.TrimPrefix(base, "http")
	pool(len(robots), func(i int) error {
		r := robots[i]
		auth := base64.StdEncoding.EncodeToString([]byte(r.ID + ":" + r.Password))
		c, rest, err := dialWS(ws+"/ws/robot/"+url.PathEscape(r.ID), map[string]string{"Authorization": "Basic " + auth})
		if err != nil {
			return err
		}
		track(c)
		var pay []byte
		c.onText = func(text []byte, now float64, out []byte) []byte {
			if !bytes.HasPrefix(text, oursForward) {
				if bytes.Contains(text, []byte(`"type":"error"`)) {
					noteError("robot " + r.ID + ": " + string(text))
				}
				return out
			}
			client := str(text, `"client":"`)
			m := bytes.Index(text, []byte(`"msg":`))
			if m < 0 {
				return out
			}
			inner := text[m:]
			t := num(inner, `"t":`)
			pay = pay[:0]
			switch {
			case bytes.HasPrefix(inner, oursDrive):
				received(t, now)
				pay = append(pay, `{"v":1,"type":"to","client":"`...)
				pay = append(pay, client...)
				pay = append(pay, `","msg":{"v":1,"type":"ack","seq":`...)
				pay = append(pay, num(inner, `"seq":`)...)
				pay = append(pay, `,"t":`...)
				pay = append(pay, t...)
				pay = append(pay, `,"result":"applied"}}`...)
			case bytes.HasPrefix(inner, oursBeat):
				received(t, now)
				pay = append(pay, `{"v":1,"type":"to","client":"`...)
				pay = append(pay, client...)
				pay = append(pay, `","msg":{"v":1,"type":"heartbeat_ack","t":`...)
				pay = append(pay, t...)
				pay = append(pay, `}}`...)
			default:
				return out
			}
			return appendFrame(out, 1, pay, true)
		}
		go c.readLoop(rest, false)
		return nil
	})
	pool(len(clients), func(i int) error {
		cl := clients[i]
		c, rest, err := dialWS(ws+"/ws/client/"+url.PathEscape(cl.ID)+"?token="+url.QueryEscape(cl.Token), nil)
		if err != nil {
			return err
		}
		track(c)
		leased := make(chan struct{}, 1)
		c.onText = func(text []byte, _ float64, out []byte) []byte {
			if bytes.HasPrefix(text, oursAck) || bytes.HasPrefix(text, oursBeatAck) {
				acks.Add(1)
				return out
			}
			var f struct {
				Type    string `json:"type"`
				You     bool   `json:"you"`
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			if json.Unmarshal(text, &f) != nil {
				return out
			}
			switch {
			case f.Type == "ack" || f.Type == "heartbeat_ack":
				acks.Add(1)
			case f.Type == "error":
				noteError(fmt.Sprintf("client %s: %s %s", cl.ID, f.Code, f.Message))
			case f.Type == "lease" && f.You:
				select {
				case leased <- struct{}{}:
				default:
				}
			}
			return out
		}
		go c.readLoop(rest, false)
		s := &sender{c: c, driver: cl.Driver}
		if cl.Driver {
			c.sendText(`{"v":1,"type":"lease","action":"take"}`)
			select {
			case <-leased:
			case <-time.After(connectTimeout):
				return errors.New("no lease for " + cl.ID)
			}
			s.pre, s.mid, s.post = []byte(`{"v":1,"type":"drive","seq":`), []byte(`,"left":0.5,"right":0.5,"ttl":300,"t":`), []byte(`}`)
		} else {
			s.mid, s.post = []byte(`{"v":1,"type":"heartbeat","t":`), []byte(`}`)
		}
		s.beat, s.beatEnd = []byte(`{"v":1,"type":"heartbeat","t":`), []byte(`}`)
		addSender(s)
		return nil
	})
}

// ---- the Socket.IO baseline ----------------------------------------------------------------------

// openSocketIO: Engine.IO open `0{…}`, namespace connect `40/ns,`, then `steady` handles frames;
// Engine.IO's ping `2` is answered with `3` throughout.
func openSocketIO(base, ns string, query url.Values, steady textHandler) (*wsConn, error) {
	query.Set("EIO", "4")
	query.Set("transport", "websocket")
	c, rest, err := dialWS("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?"+query.Encode(), nil)
	if err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	connected, refused := []byte("40"+ns+","), []byte("44"+ns+",")
	c.onText = func(text []byte, now float64, out []byte) []byte {
		switch {
		case len(text) > 0 && text[0] == '0':
			return appendFrame(out, 1, connected, true)
		case bytes.HasPrefix(text, connected):
			c.onText = steady
			ready <- nil
		case bytes.HasPrefix(text, refused):
			ready <- errors.New("connect_error " + string(text[:min(len(text), 100)]))
		case string(text) == "2":
			return appendFrame(out, 1, []byte("3"), true)
		}
		return out
	}
	go c.readLoop(rest, false)
	select {
	case err = <-ready:
	case <-time.After(connectTimeout):
		err = errors.New("no socket.io connect for " + ns)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

var (
	sioCommand  = []byte(`42/robot,["command",`)
	sioResponse = []byte(`42/client,["response"`)
	sioPing     = []byte("2")
	sioPong     = []byte("3")
)

func connectBaseline(base string, robots []robotSpec, clients []clientSpec) {
	pool(len(robots), func(i int) error {
		var pay []byte
		c, err := openSocketIO(base, "/robot", url.Values{"robotId": {robots[i].ID}}, func(text []byte, now float64, out []byte) []byte {
			if bytes.Equal(text, sioPing) {
				return appendFrame(out, 1, sioPong, true)
			}
			if !bytes.HasPrefix(text, sioCommand) {
				return out
			}
			t := num(text, `"t":`)
			received(t, now)
			pay = append(pay[:0], `42/robot,["response",{"clientId":"`...)
			pay = append(pay, str(text, `"clientId":"`)...)
			if bytes.Equal(str(text, `"type":"`), []byte("drive")) {
				pay = append(pay, `","type":"ack","seq":`...)
				pay = append(pay, num(text, `"seq":`)...)
			} else {
				pay = append(pay, `","type":"heartbeat_ack"`...)
			}
			pay = append(pay, `,"t":`...)
			pay = append(pay, t...)
			pay = append(pay, `,"result":"applied"}]`...)
			return appendFrame(out, 1, pay, true)
		})
		if err != nil {
			return err
		}
		track(c)
		return nil
	})
	pool(len(clients), func(i int) error {
		cl := clients[i]
		c, err := openSocketIO(base, "/client", url.Values{"robotId": {cl.Robot}, "clientId": {cl.ID}}, func(text []byte, _ float64, out []byte) []byte {
			if bytes.HasPrefix(text, sioResponse) {
				acks.Add(1)
			} else if bytes.Equal(text, sioPing) {
				return appendFrame(out, 1, sioPong, true)
			}
			return out
		})
		if err != nil {
			return err
		}
		track(c)
		s := &sender{c: c, driver: cl.Driver}
		if cl.Driver {
			s.pre, s.mid, s.post = []byte(`42/client,["command",{"type":"drive","seq":`), []byte(`,"left":0.5,"right":0.5,"ttl":300,"t":`), []byte(`}]`)
		} else {
			s.mid, s.post = []byte(`42/client,["command",{"type":"heartbeat","t":`), []byte(`}]`)
		}
		s.beat, s.beatEnd = []byte(`42/client,["command",{"type":"heartbeat","t":`), []byte(`}]`)
		addSender(s)
		return nil
	})
}

// pool runs fn(0..n-1), at most connectConcurrency at a time; failures are counted, not returned.
func pool(n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(connectConcurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					connFailures.Add(1)
					noteError("connect: " + err.Error())
				}
			}
		}()
	}
	wg.Wait()
}

// keepalive: between runs every client sends the app's heartbeat every 500 ms, as a connected app
// does. Without it a driver was silent while the next step's thousands of sockets connected, its
// lease lapsed after the relay's leaseIdleMs (10 s), and its drives in the next window were refused
// (not_driver) and counted lost: an artefact of the bench, against our relay only (the baseline
// has no lease). What it sends is stamped before any run, so no robot counts it.
func keepalive() {
	buf := make([]byte, 0, 128)
	frame := make([]byte, 0, 128)
	for range time.Tick(500 * time.Millisecond) {
		if running.Load() {
			continue
		}
		mu.Lock()
		list := senders
		mu.Unlock()
		for _, s := range list {
			if running.Load() {
				break
			}
			if !s.c.open.Load() || s.beat == nil {
				continue
			}
			buf = append(buf[:0], s.beat...)
			buf = strconv.AppendFloat(buf, nowMs(), 'f', 3, 64)
			buf = append(buf, s.beatEnd...)
			frame = appendFrame(frame[:0], 1, buf, true)
			s.c.write(frame)
		}
	}
}

func closeAll() {
	mu.Lock()
	cs := conns
	conns, senders = nil, nil
	mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

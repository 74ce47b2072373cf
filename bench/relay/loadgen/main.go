// The relay capacity bench's load generator (bench/relay/capacity.ts starts it; bench/relay/loadgen.ts
// builds it into a cache outside the repo). It plays robots and operators against our relay or the
// Socket.IO baseline over loopback WebSockets, on every core Go is given, so the generator is not
// what limits the measurement: the orchestrator reads this process's CPU from /proc beside the
// relay's.
//
// Control: one JSON request a line on stdin, one JSON answer a line on stdout, in order:
//
//	{"op":"connect","target":{"kind":"ours","url":"http://127.0.0.1:N"},"robots":[…],"clients":[…]}
//	{"op":"run","driverHz":20,"viewerHz":2,"ms":8000,"drainMs":2000}
//	{"op":"direct","rateHz":50,"count":1000}   one raw WebSocket hop, nothing between (the floor)
//	{"op":"closeAll"}  {"op":"exit"}
//
// stdin closing (the orchestrator died) ends the process.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	connectConcurrency = 64
	connectTimeout     = 10 * time.Second
	tickMs             = 5
)

var start = time.Now()

// nowMs: this process's monotonic clock in ms, the clock of every `t` it sends and reads.
func nowMs() float64          { return float64(time.Since(start).Nanoseconds()) / 1e6 }
func f64(bits uint64) float64 { return math.Float64frombits(bits) }

type request struct {
	Op       string       `json:"op"`
	Target   target       `json:"target"`
	Robots   []robotSpec  `json:"robots"`
	Clients  []clientSpec `json:"clients"`
	DriverHz float64      `json:"driverHz"`
	ViewerHz float64      `json:"viewerHz"`
	RateHz   float64      `json:"rateHz"`
	Ms       float64      `json:"ms"`
	DrainMs  float64      `json:"drainMs"`
	Count    int          `json:"count"`
}

type runResult struct {
	Sent        int64       `json:"sent"`
	Intended    int64       `json:"intended"`
	Delivered   int64       `json:"delivered"`
	Acks        int64       `json:"acks"`
	Errors      int64       `json:"errors"`
	Closes      int64       `json:"closes"`
	ErrorSample []string    `json:"errorSample"`
	Hist        [][2]uint32 `json:"hist"`
	Seconds     float64     `json:"seconds"`
	// How late the send ticks fired, p99 (ms): a generator that cannot keep up shows it here.
	TickLateP99Ms float64 `json:"tickLateP99Ms"`
}

func resetCounters() {
	delivered.Store(0)
	acks.Store(0)
	errCount.Store(0)
	closes.Store(0)
	mu.Lock()
	errorSample = nil
	mu.Unlock()
}

// run: every sender at its rate (drivers driverHz, viewers viewerHz) for ms, each rate's senders
// spread evenly over its period in 5 ms ticks, split over one worker per core; then waits up to
// drainMs for what is still on its way.
func run(list []*sender, driverHz, viewerHz, ms, drainMs float64) runResult {
	resetCounters()
	latency.reset()
	workers := runtime.GOMAXPROCS(0)
	type part struct{ drivers, viewers []*sender }
	parts := make([]part, workers)
	var nd, nv int64
	for i, s := range list {
		p := &parts[i%workers]
		if s.driver {
			p.drivers = append(p.drivers, s)
			nd++
		} else {
			p.viewers = append(p.viewers, s)
			nv++
		}
	}
	running.Store(true)
	defer running.Store(false)
	t0 := nowMs()
	runStartBits.Store(math.Float64bits(t0))
	sent := make([]int64, workers)
	late := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[w], late[w] = sendLoop(parts[w].drivers, parts[w].viewers, driverHz, viewerHz, t0, ms)
		}()
	}
	wg.Wait()
	var total int64
	var lateAll []float64
	for w := range workers {
		total += sent[w]
		lateAll = append(lateAll, late[w]...)
	}
	drainEnd := time.Now().Add(time.Duration(drainMs) * time.Millisecond)
	for delivered.Load() < total && time.Now().Before(drainEnd) {
		time.Sleep(20 * time.Millisecond)
	}
	runStartBits.Store(math.Float64bits(math.Inf(1)))
	slices.Sort(lateAll)
	p99 := 0.0
	if len(lateAll) > 0 {
		p99 = lateAll[min(len(lateAll)-1, int(0.99*float64(len(lateAll))))]
	}
	mu.Lock()
	sample := append([]string{}, errorSample...)
	mu.Unlock()
	return runResult{
		Sent: total, Intended: int64(math.Round((float64(nd)*driverHz + float64(nv)*viewerHz) * ms / 1000)),
		Delivered: delivered.Load(), Acks: acks.Load(), Errors: errCount.Load(), Closes: closes.Load(),
		ErrorSample: sample, Hist: latency.pairs(), Seconds: ms / 1000, TickLateP99Ms: math.Round(p99*100) / 100,
	}
}

// sendLoop: one worker's senders. A tick that fires late sends what was due at the ticks it
// missed (at most one period's worth), so the offered rate holds while the loop lags.
func sendLoop(drivers, viewers []*sender, driverHz, viewerHz, t0, ms float64) (int64, []float64) {
	type group struct {
		list    []*sender
		buckets int
	}
	groups := []group{}
	for _, g := range []struct {
		l  []*sender
		hz float64
	}{{drivers, driverHz}, {viewers, viewerHz}} {
		if g.hz > 0 && len(g.l) > 0 {
			groups = append(groups, group{g.l, max(1, int(math.Round(1000/g.hz/tickMs)))})
		}
	}
	var sent int64
	var late []float64
	var seq uint64
	tick := 0
	payload := make([]byte, 0, 256)
	frame := make([]byte, 0, 256)
	ticker := time.NewTicker(tickMs * time.Millisecond)
	defer ticker.Stop()
	for range ticker.C {
		elapsed := nowMs() - t0
		if elapsed >= ms {
			break
		}
		due := int(elapsed / tickMs)
		late = append(late, elapsed-float64(due*tickMs))
		for _, g := range groups {
			first := max(tick, due-g.buckets+1)
			for k := first; k <= due; k++ {
				seq++
				for i := k % g.buckets; i < len(g.list); i += g.buckets {
					s := g.list[i]
					if !s.c.open.Load() {
						continue
					}
					payload = s.appendPayload(payload[:0], seq, nowMs())
					frame = appendFrame(frame[:0], 1, payload, true)
					if s.c.write(frame) {
						sent++
					}
				}
			}
		}
		tick = due + 1
	}
	return sent, late
}

// direct: the floor, one WebSocket hop on loopback to a server in this process that only reads.
func direct(rateHz float64, count int) (runResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return runResult{}, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		var key string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				c.Close()
				return
			}
			if k, ok := strings.CutPrefix(strings.ToLower(line), "sec-websocket-key:"); ok {
				key = strings.TrimSpace(line[len(line)-len(k):])
			}
			if line == "\r\n" {
				break
			}
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acceptKey(key))
		rest, _ := br.Peek(br.Buffered())
		srv := &wsConn{c: c}
		srv.open.Store(true)
		srv.onText = func(text []byte, now float64, out []byte) []byte {
			received(num(text, `"t":`), now)
			return append(out, 0x81, 0) // an empty text frame as the ack
		}
		srv.readLoop(append([]byte(nil), rest...), true)
	}()
	c, rest, err := dialWS("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		return runResult{}, err
	}
	defer c.close()
	c.onText = func(_ []byte, _ float64, out []byte) []byte { return out }
	go c.readLoop(rest, false)
	s := &sender{c: c, driver: true, pre: []byte(`{"v":1,"type":"drive","seq":`), mid: []byte(`,"left":0.5,"right":0.5,"ttl":300,"t":`), post: []byte(`}`)}
	return run([]*sender{s}, rateHz, 0, float64(count)/rateHz*1000, 1000), nil
}

func main() {
	runStartBits.Store(math.Float64bits(math.Inf(1)))
	go keepalive()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := json.NewEncoder(os.Stdout)
	answer := func(v map[string]any) {
		if err := out.Encode(v); err != nil {
			os.Exit(1)
		}
	}
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			answer(map[string]any{"op": "failed", "error": "bad request: " + err.Error()})
			continue
		}
		switch req.Op {
		case "connect":
			resetCounters()
			connFailures.Store(0)
			mu.Lock()
			before := len(senders)
			mu.Unlock()
			t0 := time.Now()
			switch req.Target.Kind {
			case "ours":
				connectOurs(req.Target.URL, req.Robots, req.Clients)
			case "baseline":
				connectBaseline(req.Target.URL, req.Robots, req.Clients)
			default:
				answer(map[string]any{"op": "failed", "error": "unknown target kind " + req.Target.Kind})
				continue
			}
			mu.Lock()
			n, sample := len(senders)-before, append([]string{}, errorSample...)
			mu.Unlock()
			answer(map[string]any{"op": "connected", "clients": n, "failed": connFailures.Load(), "errorSample": sample, "ms": time.Since(t0).Milliseconds()})
		case "run":
			mu.Lock()
			list := senders
			mu.Unlock()
			answer(map[string]any{"op": "result", "result": run(list, req.DriverHz, req.ViewerHz, req.Ms, req.DrainMs)})
		case "direct":
			r, err := direct(req.RateHz, req.Count)
			if err != nil {
				answer(map[string]any{"op": "failed", "error": err.Error()})
			} else {
				answer(map[string]any{"op": "result", "result": r})
			}
		case "closeAll":
			closeAll()
			time.Sleep(500 * time.Millisecond)
			answer(map[string]any{"op": "closed"})
		case "exit":
			closeAll()
			return
		default:
			answer(map[string]any{"op": "failed", "error": "unknown op " + req.Op})
		}
	}
}

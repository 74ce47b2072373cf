package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// link is a running wire: two directions sharing one outage schedule.
type link struct {
	aToB, bToA *direction
	outages    *Outages
}

func newLink(p Profile, a, b *os.File) *link {
	now := time.Now()
	o := &Outages{}
	o.Set(now, p.Outages)
	l := &link{outages: o,
		aToB: &direction{imp: NewImpairment(p.AToB, p.Seed, 1), out: b, wake: make(chan struct{}, 1), outages: o},
		bToA: &direction{imp: NewImpairment(p.BToA, p.Seed, 2), out: a, wake: make(chan struct{}, 1), outages: o},
	}
	go l.aToB.readLoop(a)
	go l.aToB.writeLoop()
	go l.bToA.readLoop(b)
	go l.bToA.writeLoop()
	return l
}

// apply replaces the impairments (counters kept; packets already on their way keep their times)
// and restarts the outage schedule from now.
func (l *link) apply(p Profile) {
	for _, x := range []struct {
		d      *direction
		dir    Direction
		stream uint64
	}{{l.aToB, p.AToB, 1}, {l.bToA, p.BToA, 2}} {
		x.d.mu.Lock()
		x.d.imp = NewImpairment(x.dir, p.Seed, x.stream)
		x.d.mu.Unlock()
	}
	l.outages.Set(time.Now(), p.Outages)
}

func (l *link) stats() map[string]any {
	out := map[string]any{"ok": true, "down": l.outages.Down(time.Now())}
	for name, d := range map[string]*direction{"aToB": l.aToB, "bToA": l.bToA} {
		d.mu.Lock()
		out[name] = d.counts
		d.mu.Unlock()
	}
	return out
}

// command runs one control line and returns its answer.
func (l *link) command(line string) map[string]any {
	verb, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	bad := func(msg string) map[string]any { return map[string]any{"ok": false, "error": msg} }
	switch verb {
	case "stats":
		return l.stats()
	case "down":
		ms, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil || !finite(ms) || ms <= 0 {
			return bad("down <milliseconds>: a number > 0")
		}
		l.outages.DownFor(time.Now(), time.Duration(ms*float64(time.Millisecond)))
		return map[string]any{"ok": true}
	case "up":
		l.outages.DownFor(time.Now(), 0)
		return map[string]any{"ok": true}
	case "profile":
		p, err := ParseProfile([]byte(rest))
		if err != nil {
			return bad(err.Error())
		}
		l.apply(p)
		return map[string]any{"ok": true}
	default:
		return bad("unknown command (stats, down <ms>, up, profile <json>)")
	}
}

func (l *link) serveControl(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			in := bufio.NewScanner(c)
			in.Buffer(make([]byte, 64*1024), 64*1024)
			enc := json.NewEncoder(c)
			for in.Scan() {
				if enc.Encode(l.command(in.Text())) != nil {
					return
				}
			}
		}()
	}
}

package main

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Drop reasons, as counted.
type Verdict int

const (
	Deliver Verdict = iota
	DropLoss
	DropQueue
	DropOutage
)

// Impairment decides the fate of each packet in one direction: pure (time comes in as an argument,
// randomness from a seeded source), so its rules are unit-tested without a network.
type Impairment struct {
	d   Direction
	rng *rand.Rand
	bad bool // Gilbert-Elliott state
	// busyUntil: when the bottleneck finishes sending what it already holds (the drop-tail queue is
	// everything admitted and not yet sent); lastDeliver keeps the order when Reorder is false.
	busyUntil   time.Time
	lastDeliver time.Time
}

func NewImpairment(d Direction, seed uint64, stream uint64) *Impairment {
	return &Impairment{d: d, rng: rand.New(rand.NewPCG(seed, stream))}
}

// QueuedBytes is what waits at the bottleneck at `now`.
func (m *Impairment) QueuedBytes(now time.Time) int {
	if m.d.RateKbps <= 0 || !m.busyUntil.After(now) {
		return 0
	}
	return int(m.busyUntil.Sub(now).Seconds() * m.d.RateKbps * 1000 / 8)
}

// Decide takes a packet of `size` bytes arriving at `now` and returns when to deliver it, or why
// it is dropped. Order: the bottleneck queue (drop-tail when full), then loss on the way (a lost
// packet used its share of the link, as on a radio), then delay and jitter.
func (m *Impairment) Decide(now time.Time, size int) (time.Time, Verdict) {
	sent := now
	if m.d.RateKbps > 0 {
		if m.QueuedBytes(now)+size > m.d.QueueBytes {
			return time.Time{}, DropQueue
		}
		start := now
		if m.busyUntil.After(now) {
			start = m.busyUntil
		}
		m.busyUntil = start.Add(time.Duration(float64(size*8) / (m.d.RateKbps * 1000) * float64(time.Second)))
		sent = m.busyUntil
	}
	if m.lost() {
		return time.Time{}, DropLoss
	}
	delay := m.d.DelayMs
	if m.d.JitterMs > 0 {
		delay += m.rng.NormFloat64() * m.d.JitterMs
		if delay < 0 {
			delay = 0
		}
	}
	at := sent.Add(time.Duration(delay * float64(time.Millisecond)))
	if !m.d.Reorder && at.Before(m.lastDeliver) {
		at = m.lastDeliver
	}
	if at.After(m.lastDeliver) {
		m.lastDeliver = at
	}
	return at, Deliver
}

func (m *Impairment) lost() bool {
	lost := false
	if b := m.d.Burst; b != nil {
		if m.bad {
			m.bad = m.rng.Float64() >= b.PBadToGood
		} else {
			m.bad = m.rng.Float64() < b.PGoodToBad
		}
		p := b.LossInGoodPct
		if m.bad {
			p = b.LossInBadPct
		}
		lost = m.rng.Float64()*100 < p
	}
	if m.d.LossPct > 0 && m.rng.Float64()*100 < m.d.LossPct {
		lost = true
	}
	return lost
}

// Outages is the link's down time: a schedule relative to `start` plus "down now for N" from the
// control socket.
type Outages struct {
	mu        sync.Mutex
	start     time.Time
	scheduled []Outage
	downUntil time.Time
}

func (o *Outages) Down(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now.Before(o.downUntil) {
		return true
	}
	since := now.Sub(o.start).Seconds() * 1000
	for _, w := range o.scheduled {
		if since >= w.AtMs && since < w.AtMs+w.ForMs {
			return true
		}
	}
	return false
}

// Set replaces the schedule, counted from `now`, and ends a "down now" in progress.
func (o *Outages) Set(now time.Time, scheduled []Outage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.start, o.scheduled, o.downUntil = now, scheduled, time.Time{}
}

// DownFor takes the link down from `now` for `d` (0 brings it back up).
func (o *Outages) DownFor(now time.Time, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.downUntil = now.Add(d)
}

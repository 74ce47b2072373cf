package main

import (
	"container/heap"
	"os"
	"sync"
	"time"
)

// Counters of one direction, as the control socket's "stats" reports them.
type Counters struct {
	InPackets     uint64 `json:"inPackets"`
	InBytes       uint64 `json:"inBytes"`
	OutPackets    uint64 `json:"outPackets"`
	OutBytes      uint64 `json:"outBytes"`
	DropLoss      uint64 `json:"dropLoss"`
	DropQueue     uint64 `json:"dropQueue"`
	DropOutage    uint64 `json:"dropOutage"`
	MaxQueueBytes int    `json:"maxQueueBytes"`
}

type packet struct {
	data []byte
	at   time.Time
	seq  uint64
}

// pending is the packets on their way, soonest first (ties in arrival order).
type pending []packet

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if p[i].at.Equal(p[j].at) {
		return p[i].seq < p[j].seq
	}
	return p[i].at.Before(p[j].at)
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(packet)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	*p = old[:len(old)-1]
	return x
}

// direction forwards from one TUN to another through an Impairment.
type direction struct {
	mu      sync.Mutex
	imp     *Impairment
	out     *os.File
	queue   pending
	seq     uint64
	wake    chan struct{}
	counts  Counters
	outages *Outages
}

// MaxInFlight bounds the packets held for delay (not the bottleneck queue, which is in bytes): a
// sender far above a capped rate gets queue drops long before this; it only guards memory.
const MaxInFlight = 100_000

func (d *direction) accept(data []byte, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.counts.InPackets++
	d.counts.InBytes += uint64(len(data))
	if d.outages.Down(now) {
		d.counts.DropOutage++
		return
	}
	at, v := d.imp.Decide(now, len(data))
	if q := d.imp.QueuedBytes(now); q > d.counts.MaxQueueBytes {
		d.counts.MaxQueueBytes = q
	}
	switch v {
	case DropLoss:
		d.counts.DropLoss++
		return
	case DropQueue:
		d.counts.DropQueue++
		return
	case DropOutage, Deliver:
	}
	if len(d.queue) >= MaxInFlight {
		d.counts.DropQueue++
		return
	}
	d.seq++
	heap.Push(&d.queue, packet{data: data, at: at, seq: d.seq})
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// readLoop copies packets from `in` into the direction until `in` fails (closed at exit).
func (d *direction) readLoop(in *os.File) {
	for {
		buf := make([]byte, 65536)
		n, err := in.Read(buf)
		if err != nil {
			return
		}
		d.accept(buf[:n], time.Now())
	}
}

// writeLoop delivers each packet at its time.
func (d *direction) writeLoop() {
	timer := time.NewTimer(time.Hour)
	for {
		d.mu.Lock()
		var due []packet
		now := time.Now()
		for len(d.queue) > 0 && !d.queue[0].at.After(now) {
			due = append(due, heap.Pop(&d.queue).(packet))
		}
		wait := time.Hour
		if len(d.queue) > 0 {
			wait = d.queue[0].at.Sub(now)
		}
		d.mu.Unlock()
		for _, p := range due {
			if _, err := d.out.Write(p.data); err == nil {
				d.mu.Lock()
				d.counts.OutPackets++
				d.counts.OutBytes += uint64(len(p.data))
				d.mu.Unlock()
			}
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-d.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}
